//! Prometheus's web configuration file (`--web.config.file`):
//! `tls_server_config` and `basic_auth_users` (bcrypt hashes), plus
//! `http_server_config.headers` added to every response.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

/// A web config file did not load.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file could not be read.
    #[error("reading {path}: {message}")]
    Io {
        /// Path.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The YAML is malformed or has unknown fields.
    #[error("parsing web config: {0}")]
    Yaml(String),
    /// The content is inconsistent (missing key file, bad certificate…).
    #[error("invalid web config: {0}")]
    Invalid(String),
}

/// `tls_server_config`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// PEM certificate chain.
    #[serde(default)]
    pub cert_file: PathBuf,
    /// PEM private key.
    #[serde(default)]
    pub key_file: PathBuf,
    /// Only `NoClientCert` (the default) is supported.
    #[serde(default)]
    pub client_auth_type: Option<String>,
}

/// `http_server_config`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Whether HTTP/2 is offered over TLS (default true).
    #[serde(default)]
    pub http2: Option<bool>,
    /// Headers added to every response.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The whole file. The default (no TLS, no users) serves plain HTTP openly.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// TLS settings; absent for plain HTTP.
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    /// HTTP settings.
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// User name → bcrypt hash.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

impl WebConfig {
    /// Parses YAML text; relative file paths stay as written.
    pub fn from_yaml(text: &str) -> Result<WebConfig, WebConfigError> {
        if text.trim().is_empty() {
            return Ok(WebConfig::default());
        }
        let c: WebConfig =
            serde_norway::from_str(text).map_err(|e| WebConfigError::Yaml(e.to_string()))?;
        c.validate()?;
        Ok(c)
    }

    /// Loads a file; relative certificate paths are resolved against its
    /// directory, as Prometheus does.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| WebConfigError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut c = WebConfig::from_yaml(&text)?;
        if let (Some(tls), Some(dir)) = (c.tls_server_config.as_mut(), path.parent()) {
            for p in [&mut tls.cert_file, &mut tls.key_file] {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        Ok(c)
    }

    fn validate(&self) -> Result<(), WebConfigError> {
        if let Some(tls) = &self.tls_server_config {
            if tls.cert_file.as_os_str().is_empty() {
                return Err(WebConfigError::Invalid("missing cert_file".into()));
            }
            if tls.key_file.as_os_str().is_empty() {
                return Err(WebConfigError::Invalid("missing key_file".into()));
            }
            if let Some(t) = &tls.client_auth_type {
                if t != "NoClientCert" {
                    return Err(WebConfigError::Invalid(format!(
                        "client_auth_type {t:?} is not supported"
                    )));
                }
            }
        }
        for (user, hash) in &self.basic_auth_users {
            if !hash.starts_with("$2") {
                return Err(WebConfigError::Invalid(format!(
                    "basic_auth_users: {user:?} has no bcrypt hash"
                )));
            }
        }
        Ok(())
    }

    /// The rustls server configuration, if TLS is configured: reads the
    /// certificate chain and key now.
    pub fn rustls_config(&self) -> Result<Option<Arc<rustls::ServerConfig>>, WebConfigError> {
        let Some(tls) = &self.tls_server_config else {
            return Ok(None);
        };
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| WebConfigError::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            })
        };
        let cert_pem = read(&tls.cert_file)?;
        let key_pem = read(&tls.key_file)?;
        let certs = rustls_pemfile::certs(&mut cert_pem.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WebConfigError::Invalid(format!("cert_file: {e}")))?;
        if certs.is_empty() {
            return Err(WebConfigError::Invalid(
                "cert_file: no certificate found".into(),
            ));
        }
        let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
            .map_err(|e| WebConfigError::Invalid(format!("key_file: {e}")))?
            .ok_or_else(|| WebConfigError::Invalid("key_file: no private key found".into()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| WebConfigError::Invalid(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| WebConfigError::Invalid(format!("certificate and key: {e}")))?;
        cfg.alpn_protocols = if self.http_server_config.http2.unwrap_or(true) {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(Some(Arc::new(cfg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_format() {
        let c = WebConfig::from_yaml(
            "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\nbasic_auth_users:\n  alice: $2y$10$abc\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        )
        .unwrap();
        assert_eq!(
            c.tls_server_config.as_ref().unwrap().cert_file,
            PathBuf::from("a.crt")
        );
        assert_eq!(c.basic_auth_users["alice"], "$2y$10$abc");
        assert_eq!(c.http_server_config.headers["X-Frame-Options"], "deny");
        assert_eq!(WebConfig::from_yaml("").unwrap(), WebConfig::default());
    }

    #[test]
    fn rejects_bad_configs() {
        assert!(matches!(
            WebConfig::from_yaml("nope: 1"),
            Err(WebConfigError::Yaml(_))
        ));
        assert!(matches!(
            WebConfig::from_yaml("tls_server_config:\n  cert_file: a\n"),
            Err(WebConfigError::Invalid(_))
        ));
        assert!(matches!(
            WebConfig::from_yaml("basic_auth_users:\n  bob: plain\n"),
            Err(WebConfigError::Invalid(_))
        ));
        let missing = WebConfig::from_yaml(
            "tls_server_config:\n  cert_file: /nonexistent/a\n  key_file: /nonexistent/b\n",
        )
        .unwrap();
        assert!(matches!(
            missing.rustls_config(),
            Err(WebConfigError::Io { .. })
        ));
    }

    #[test]
    fn load_resolves_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("web.yml");
        std::fs::write(
            &p,
            "tls_server_config:\n  cert_file: c.pem\n  key_file: /abs/k.pem\n",
        )
        .unwrap();
        let c = WebConfig::load(&p).unwrap();
        let tls = c.tls_server_config.unwrap();
        assert_eq!(tls.cert_file, dir.path().join("c.pem"));
        assert_eq!(tls.key_file, PathBuf::from("/abs/k.pem"));
    }
}
