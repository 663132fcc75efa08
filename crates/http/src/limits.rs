//! Connection-level limits of the HTTP server: how many connections it
//! holds open at once, and how long a client may take to send a request.
//!
//! Prometheus has the same two knobs (`--web.max-connections`, default 512,
//! and `--web.read-timeout`, default 5 m, which in Go covers the headers,
//! the body and the idle time between keep-alive requests). Without them a
//! client that opens connections and sends nothing (slowloris) holds memory
//! and file descriptors forever.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::Sleep;

/// Limits on connections and request reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnLimits {
    /// Most connections served at once (0: no limit). A client beyond it
    /// takes the slot of the longest-idle connection, or waits while every
    /// connection has a request in flight (see `conns.rs`).
    pub max_connections: usize,
    /// Longest time to receive a request: the wait for the headers of the
    /// next request on an idle connection, and separately the whole body.
    pub read_timeout: Duration,
}

impl Default for ConnLimits {
    /// Prometheus's defaults: 512 connections, 5 minutes.
    fn default() -> Self {
        ConnLimits {
            max_connections: 512,
            read_timeout: Duration::from_secs(300),
        }
    }
}

/// Wraps the request body so that reading it fails once `timeout` has
/// passed since the request arrived, however slowly the bytes trickle in.
pub(crate) async fn body_deadline(
    State(timeout): State<Duration>,
    req: Request,
    next: Next,
) -> Response {
    let req = req.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        })
    });
    next.run(req).await
}

/// A body that errors when its deadline passes before it is fully read.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new("request body read timeout"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    /// Sends one frame, then never another (a client that stalls).
    struct Stalled(bool);

    impl HttpBody for Stalled {
        type Data = Bytes;
        type Error = axum::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
            if self.0 {
                return Poll::Pending;
            }
            self.0 = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"query=up")))))
        }
    }

    #[tokio::test]
    async fn a_body_that_stalls_fails_at_the_deadline() {
        let body = DeadlineBody {
            inner: Body::new(Stalled(false)),
            deadline: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
        };
        let err = to_bytes(Body::new(body), 1 << 20).await.unwrap_err();
        assert!(err.to_string().contains("read timeout"), "{err}");
    }

    #[tokio::test]
    async fn a_complete_body_passes_unchanged() {
        let body = DeadlineBody {
            inner: Body::from("query=up&time=1"),
            deadline: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
        };
        let bytes = to_bytes(Body::new(body), 1 << 20).await.unwrap();
        assert_eq!(&bytes[..], b"query=up&time=1");
    }
}
