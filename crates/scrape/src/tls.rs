//! `tls_config.server_name`: a rustls client configuration that checks the
//! target's certificate against the configured name instead of the host of
//! the scrape URL (Prometheus's `ServerName` in its TLS config).
//!
//! reqwest takes the name to verify from the URL, so when `server_name` is
//! set the fetcher hands reqwest this pre-built configuration. Everything
//! else (`ca_file`, client certificates, `insecure_skip_verify`) goes
//! through reqwest's own builder.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::TlsConfig;

/// Verifies the server's chain with webpki, always against `name`.
#[derive(Debug)]
struct NamedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The client configuration for a `tls_config` with `server_name`: trusts
/// `ca_file` (or the built-in web PKI roots without it), presents
/// `cert_file`/`key_file` when set, and verifies the server certificate
/// against `server_name`.
pub(crate) fn server_name_config(
    tls: &TlsConfig,
    server_name: &str,
) -> Result<rustls::ClientConfig, String> {
    let name = ServerName::try_from(server_name.to_string())
        .map_err(|e| format!("tls_config: invalid server_name {server_name:?}: {e}"))?;
    let mut roots = RootCertStore::empty();
    match &tls.ca_file {
        Some(ca) => {
            let pem = std::fs::read(ca).map_err(|e| format!("reading ca_file {ca}: {e}"))?;
            let mut found = false;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("ca_file {ca}: {e}"))?;
                roots.add(cert).map_err(|e| format!("ca_file {ca}: {e}"))?;
                found = true;
            }
            if !found {
                return Err(format!("ca_file {ca}: no PEM certificate found"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("tls_config: {e}"))?;
    let verifier = Arc::new(NamedVerifier { inner, name });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls_config: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let pem = std::fs::read(cert).map_err(|e| format!("reading cert_file {cert}: {e}"))?;
            let chain = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("cert_file {cert}: {e}"))?;
            let key_pem = std::fs::read(key).map_err(|e| format!("reading key_file {key}: {e}"))?;
            let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| format!("key_file {key}: {e}"))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| format!("client certificate: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}
