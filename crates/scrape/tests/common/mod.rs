//! Shared helpers for the scrape scenario tests: an in-process target
//! server on 127.0.0.1:0 and storage inspection.
#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use promlite_model::{
    Appendable, Clock, Labels, ManualClock, MatchOp, Matcher, MemStorage, Queryable, ValueType,
};
use promlite_scrape::target::{populate, Populated};
use promlite_scrape::{Config, ScrapeLoop, ScrapeOptions, TargetShared};

/// What the test server answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub body: Vec<u8>,
    pub content_type: String,
    pub gzip: bool,
    pub delay: Duration,
    pub status: u16,
}

impl Reply {
    pub fn text(body: &str) -> Reply {
        Reply {
            body: body.as_bytes().to_vec(),
            content_type: "text/plain; version=0.0.4".into(),
            gzip: false,
            delay: Duration::ZERO,
            status: 200,
        }
    }
}

#[derive(Clone)]
pub struct Server {
    pub addr: SocketAddr,
    pub reply: Arc<Mutex<Reply>>,
    pub last_headers: Arc<Mutex<Option<HeaderMap>>>,
    pub hits: Arc<Mutex<u64>>,
}

impl Server {
    pub fn set(&self, r: Reply) {
        *self.reply.lock() = r;
    }
    pub fn set_text(&self, body: &str) {
        self.set(Reply::text(body));
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.last_headers
            .lock()
            .as_ref()?
            .get(name)?
            .to_str()
            .ok()
            .map(str::to_string)
    }
}

#[derive(Clone)]
struct AppState {
    reply: Arc<Mutex<Reply>>,
    last_headers: Arc<Mutex<Option<HeaderMap>>>,
    hits: Arc<Mutex<u64>>,
}

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response<Body> {
    *s.last_headers.lock() = Some(headers);
    *s.hits.lock() += 1;
    let r = s.reply.lock().clone();
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
    let mut b = Response::builder()
        .status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK))
        .header("content-type", r.content_type);
    let body = if r.gzip {
        b = b.header("content-encoding", "gzip");
        gzip(&r.body)
    } else {
        r.body
    };
    b.body(Body::from(body)).unwrap_or_default()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap_or_default();
    e.finish().unwrap_or_default()
}

/// Starts a server answering `/metrics` (and every other path) with `reply`.
pub async fn serve(reply: Reply) -> Server {
    let state = AppState {
        reply: Arc::new(Mutex::new(reply)),
        last_headers: Arc::default(),
        hits: Arc::default(),
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .fallback(get(metrics))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        addr,
        reply: state.reply,
        last_headers: state.last_headers,
        hits: state.hits,
    }
}

/// A scrape loop for the first static target of the first job of `yaml`
/// (`ADDR` in the YAML is replaced by the server address).
pub fn scrape_loop(yaml: &str, server: &Server, db: &MemStorage) -> ScrapeLoop {
    scrape_loop_with(yaml, server, Arc::new(db.clone()))
}

/// Like [`scrape_loop`] with any storage.
pub fn scrape_loop_with(yaml: &str, server: &Server, storage: Arc<dyn Appendable>) -> ScrapeLoop {
    scrape_loop_for(&yaml.replace("ADDR", &server.addr.to_string()), storage)
}

/// The scrape loop of the first target of the first job in `yaml`, writing
/// to `storage`, on a manual clock at 0.
pub fn scrape_loop_for(yaml: &str, storage: Arc<dyn Appendable>) -> ScrapeLoop {
    let cfg = Config::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    let sc = &cfg.scrape_configs[0];
    let groups = promlite_scrape::discovery::static_groups(&sc.static_configs);
    let t = match populate(&groups[0].labels, &groups[0].targets[0], sc).unwrap() {
        Populated::Target(t) => t,
        Populated::Dropped(l) => panic!("dropped {l}"),
    };
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(0));
    ScrapeLoop::new(
        sc,
        Arc::new(TargetShared::new(t)),
        storage,
        clock,
        &ScrapeOptions::default(),
    )
    .unwrap()
}

/// All series whose name is `name`, with their samples.
pub fn series(db: &MemStorage, name: &str) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let q = db.querier(i64::MIN / 2, i64::MAX / 2).unwrap();
    let m = Matcher::new(MatchOp::Equal, "__name__", name).unwrap();
    let mut out = Vec::new();
    for s in q.select(&Default::default(), &[m]).unwrap() {
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        out.push((s.labels().clone(), v));
    }
    out
}

/// The samples of the one series named `name` (panics if not exactly one).
pub fn samples(db: &MemStorage, name: &str) -> Vec<(i64, f64)> {
    let s = series(db, name);
    assert_eq!(
        s.len(),
        1,
        "series named {name}: {:?}",
        s.iter().map(|x| x.0.to_string()).collect::<Vec<_>>()
    );
    s.into_iter().next().map(|x| x.1).unwrap_or_default()
}
