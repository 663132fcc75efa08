//! Choosing the exposition format from HTTP headers.

/// The two text exposition formats promlite understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4 (and 1.0.0, which only adds quoted
    /// UTF-8 names), `text/plain`.
    PrometheusText,
    /// OpenMetrics 1.0, `application/openmetrics-text`.
    OpenMetrics,
}

impl Format {
    /// Chooses by Content-Type like Prometheus: `application/openmetrics-text`
    /// (any parameters, any case) → OpenMetrics; `text/plain`, a missing or an
    /// unknown type → PrometheusText.
    pub fn from_content_type(ct: Option<&str>) -> Format {
        let Some(ct) = ct else {
            return Format::PrometheusText;
        };
        let media = ct.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        }
    }

    /// The media type, as in a Content-Type header (without parameters).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::PrometheusText => "text/plain",
            Format::OpenMetrics => "application/openmetrics-text",
        }
    }
}

/// The Accept header Prometheus 3.x sends when scraping with its default
/// `scrape_protocols` (protobuf not offered) and UTF-8 names allowed.
pub const SCRAPE_ACCEPT_HEADER: &str =
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
application/openmetrics-text;version=0.0.1;q=0.5,\
text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
text/plain;version=0.0.4;q=0.3,\
*/*;q=0.2";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_selection() {
        use Format::*;
        assert_eq!(Format::from_content_type(None), PrometheusText);
        assert_eq!(Format::from_content_type(Some("")), PrometheusText);
        assert_eq!(
            Format::from_content_type(Some("text/plain; version=0.0.4; charset=utf-8")),
            PrometheusText
        );
        assert_eq!(
            Format::from_content_type(Some(
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            )),
            OpenMetrics
        );
        assert_eq!(
            Format::from_content_type(Some("Application/OpenMetrics-Text")),
            OpenMetrics
        );
        assert_eq!(
            Format::from_content_type(Some("application/json")),
            PrometheusText
        );
        assert_eq!(
            Format::from_content_type(Some("application/vnd.google.protobuf;proto=x")),
            PrometheusText
        );
    }

    #[test]
    fn accept_header_matches_prometheus_defaults() {
        let parts: Vec<&str> = SCRAPE_ACCEPT_HEADER.split(',').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(
            parts[0],
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6"
        );
        assert_eq!(parts[4], "*/*;q=0.2");
        assert!(!SCRAPE_ACCEPT_HEADER.contains(' '));
    }
}
