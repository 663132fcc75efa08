//! Success envelopes: `{"status":"success","data":…,"warnings":[…],"infos":[…]}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A successful API answer. `data` is already-serialized JSON, so large
/// query results are written once, straight into the body.
#[derive(Clone, Debug, Default)]
pub struct ApiResponse {
    /// The `data` member as JSON text; `None` omits it.
    pub data: Option<String>,
    /// Warnings (omitted when empty, as Prometheus does).
    pub warnings: Vec<String>,
    /// Info annotations (omitted when empty).
    pub infos: Vec<String>,
}

impl ApiResponse {
    /// An answer whose `data` is `value` serialized.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> ApiResponse {
        let data = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
        ApiResponse {
            data: Some(data),
            ..Default::default()
        }
    }

    /// An answer with pre-serialized `data`.
    pub fn raw(data: String) -> ApiResponse {
        ApiResponse {
            data: Some(data),
            ..Default::default()
        }
    }

    /// Adds warnings.
    pub fn with_warnings(mut self, warnings: Vec<String>) -> ApiResponse {
        self.warnings.extend(warnings);
        self
    }

    /// Adds infos.
    pub fn with_infos(mut self, infos: Vec<String>) -> ApiResponse {
        self.infos.extend(infos);
        self
    }

    /// The body text.
    pub fn body(&self) -> String {
        let mut out = String::with_capacity(self.data.as_ref().map_or(0, |d| d.len()) + 64);
        out.push_str("{\"status\":\"success\"");
        if let Some(d) = &self.data {
            out.push_str(",\"data\":");
            out.push_str(d);
        }
        push_annotations(&mut out, &self.warnings, &self.infos);
        out.push('}');
        out
    }
}

/// Appends the `warnings` and `infos` members (each only when non-empty).
fn push_annotations(out: &mut String, warnings: &[String], infos: &[String]) {
    for (key, list) in [("warnings", warnings), ("infos", infos)] {
        if !list.is_empty() {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            out.push_str(&serde_json::to_string(list).unwrap_or_else(|_| "[]".into()));
        }
    }
}

impl IntoResponse for ApiResponse {
    fn into_response(self) -> Response {
        json_response(StatusCode::OK, self.body())
    }
}

/// Bodies at least this large are gzip-compressed by [`EncodedResponse`]
/// (smaller ones are left to the router's compression layer).
const GZIP_AT: usize = 4096;

/// A success answer encoded — and, when the client accepts it and the body
/// is large, gzip-compressed — where it was produced (the blocking pool
/// for queries), not on the async runtime.
#[derive(Clone, Debug)]
pub struct EncodedResponse {
    body: Vec<u8>,
    gzipped: bool,
}

impl EncodedResponse {
    /// Encodes `r`; compresses when `gzip` is allowed and the body is large.
    pub fn encode(r: &ApiResponse, gzip: bool) -> EncodedResponse {
        Self::finish(r.body().into_bytes(), gzip)
    }

    /// A success envelope whose `data` member `write_data` appends (in one
    /// buffer of about `size_hint` bytes, without a copy of the data),
    /// with annotations; compressed like [`EncodedResponse::encode`].
    pub fn success(
        write_data: impl FnOnce(&mut String),
        size_hint: usize,
        warnings: &[String],
        infos: &[String],
        gzip: bool,
    ) -> EncodedResponse {
        let mut out = String::with_capacity(size_hint.saturating_add(64));
        out.push_str("{\"status\":\"success\",\"data\":");
        write_data(&mut out);
        push_annotations(&mut out, warnings, infos);
        out.push('}');
        Self::finish(out.into_bytes(), gzip)
    }

    fn finish(body: Vec<u8>, gzip: bool) -> EncodedResponse {
        if gzip && body.len() >= GZIP_AT {
            if let Ok(z) = crate::gzip::gzip(&body) {
                return EncodedResponse {
                    body: z,
                    gzipped: true,
                };
            }
        }
        EncodedResponse {
            body,
            gzipped: false,
        }
    }

    /// Whether the body is gzip-compressed.
    pub fn is_gzipped(&self) -> bool {
        self.gzipped
    }

    /// The body bytes as sent.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }
}

impl IntoResponse for EncodedResponse {
    fn into_response(self) -> Response {
        let mut r = (StatusCode::OK, self.body).into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.gzipped {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        r
    }
}

/// A response with `Content-Type: application/json` and the given body.
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// What an API handler returns.
pub type ApiResult = Result<ApiResponse, crate::ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_omits_empty_lists() {
        let r = ApiResponse::of(&vec!["a", "b"]);
        assert_eq!(r.body(), r#"{"status":"success","data":["a","b"]}"#);
        let r = ApiResponse::raw("[]".into())
            .with_warnings(vec!["w\"1".into()])
            .with_infos(vec!["i".into()]);
        assert_eq!(
            r.body(),
            r#"{"status":"success","data":[],"warnings":["w\"1"],"infos":["i"]}"#
        );
        let r = ApiResponse::default();
        assert_eq!(r.body(), r#"{"status":"success"}"#);
    }
}
