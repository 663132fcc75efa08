//! HTTP client settings shared by scrape configs and Alertmanager configs:
//! basic auth, `Authorization` header, TLS.

use std::path::Path;

use serde::Deserialize;

/// `basic_auth`: `username` plus `password` or `password_file` (exclusive).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password given inline.
    pub password: Option<String>,
    /// File whose content (trimmed of a trailing newline) is the password.
    pub password_file: Option<String>,
}

/// `authorization`: an `Authorization: <type> <credentials>` header.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Authorization {
    /// Scheme, `Bearer` by default.
    #[serde(rename = "type")]
    pub auth_type: String,
    /// Credentials given inline.
    pub credentials: Option<String>,
    /// File holding the credentials.
    pub credentials_file: Option<String>,
}

impl Default for Authorization {
    fn default() -> Self {
        Authorization {
            auth_type: "Bearer".into(),
            credentials: None,
            credentials_file: None,
        }
    }
}

/// `tls_config`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM file with the CA certificates to trust.
    pub ca_file: Option<String>,
    /// PEM client certificate (needs `key_file`).
    pub cert_file: Option<String>,
    /// PEM client key (needs `cert_file`).
    pub key_file: Option<String>,
    /// Skip server certificate verification.
    pub insecure_skip_verify: bool,
    /// Name the server certificate is verified against instead of the
    /// target's host (the TLS SNI still carries the URL's host).
    pub server_name: Option<String>,
    /// Minimum TLS version (`TLS12`, `TLS13`); accepted for compatibility.
    pub min_version: Option<String>,
}

/// Checks the mutual exclusions of the HTTP client settings; `what` names
/// the enclosing section for messages.
pub(crate) fn validate_http(
    what: &str,
    basic: &Option<BasicAuth>,
    auth: &Option<Authorization>,
    tls: &TlsConfig,
) -> Result<(), String> {
    if basic.is_some() && auth.is_some() {
        return Err(format!(
            "{what}: at most one of basic_auth and authorization may be configured"
        ));
    }
    if let Some(b) = basic {
        if b.password.is_some() && b.password_file.is_some() {
            return Err(format!(
                "{what}: basic_auth: at most one of password and password_file may be configured"
            ));
        }
    }
    if let Some(a) = auth {
        if a.credentials.is_some() && a.credentials_file.is_some() {
            return Err(format!("{what}: authorization: at most one of credentials and credentials_file may be configured"));
        }
        if a.auth_type.eq_ignore_ascii_case("basic") {
            return Err(format!(
                "{what}: authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
            ));
        }
    }
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        return Err(format!(
            "{what}: tls_config: cert_file and key_file must be configured together"
        ));
    }
    Ok(())
}

/// Makes the relative file paths of the HTTP client settings relative to `dir`.
pub(crate) fn resolve_http_paths(
    dir: &Path,
    basic: &mut Option<BasicAuth>,
    auth: &mut Option<Authorization>,
    tls: &mut TlsConfig,
) {
    let fix = |p: &mut Option<String>| {
        if let Some(s) = p {
            *s = super::join_dir(dir, s);
        }
    };
    if let Some(b) = basic {
        fix(&mut b.password_file);
    }
    if let Some(a) = auth {
        fix(&mut a.credentials_file);
    }
    fix(&mut tls.ca_file);
    fix(&mut tls.cert_file);
    fix(&mut tls.key_file);
}
