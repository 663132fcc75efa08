//! While the storage opens (WAL replay), the listen address already answers:
//! `/-/healthy` 200, `/-/ready` and the API 503 "Service Unavailable".

use std::sync::Arc;

use anyhow::Context;
use promlite_http::{router, ApiState, WebConfig};
use promlite_model::MemStorage;
use promlite_promql::Engine;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Serves a never-ready API on a clone of `listener` until [`finish`].
pub fn serve_not_ready(
    listener: &std::net::TcpListener,
    web_config: WebConfig,
    limits: promlite_http::ConnLimits,
) -> anyhow::Result<(watch::Sender<bool>, JoinHandle<()>)> {
    let early = TcpListener::from_std(listener.try_clone().context("listener clone")?)
        .context("listener")?;
    let state = ApiState::new(Arc::new(MemStorage::new()), Engine::default());
    state.set_ready(false);
    let (done, mut rx) = watch::channel(false);
    let shutdown = async move {
        // Also ends when the sender is dropped (startup failed).
        let _ = rx.wait_for(|v| *v).await;
    };
    let task = tokio::spawn(async move {
        if let Err(e) =
            promlite_http::serve(early, router(state), web_config, limits, shutdown).await
        {
            tracing::warn!("serving during startup: {e}");
        }
    });
    Ok((done, task))
}

/// Stops the startup server and waits for it to let go of the socket.
pub async fn finish(done: watch::Sender<bool>, task: JoinHandle<()>) {
    let _ = done.send(true);
    let _ = task.await;
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn answers_503_until_finished_then_hands_the_socket_over() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.set_nonblocking(true).expect("nonblocking");
            let addr = l.local_addr().expect("addr");
            let (done, task) =
                serve_not_ready(&l, WebConfig::default(), Default::default()).expect("serve");
            let ready = tokio::task::spawn_blocking(move || get(addr, "/-/ready"))
                .await
                .expect("join");
            assert!(ready.starts_with("HTTP/1.0 503"), "{ready}");
            assert!(ready.contains("Service Unavailable"), "{ready}");
            let healthy = tokio::task::spawn_blocking(move || get(addr, "/-/healthy"))
                .await
                .expect("join");
            assert!(healthy.starts_with("HTTP/1.0 200"), "{healthy}");
            finish(done, task).await;
            // The socket stays bound and serves whatever comes next.
            let next = TcpListener::from_std(l).expect("listener");
            let client = tokio::task::spawn_blocking(move || get(addr, "/x"));
            let (mut conn, _) = next.accept().await.expect("accept");
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut req = Vec::new();
            let mut buf = [0u8; 256];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).await.expect("read request");
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.0 200 OK\r\n\r\nnext")
                .await
                .expect("answer");
            drop(conn);
            let answer = client.await.expect("join");
            assert!(answer.ends_with("next"), "{answer}");
        });
    }
}
