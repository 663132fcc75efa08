//! promlite-tsdb (being built).

pub mod block;
pub mod codec;
pub mod compact;
pub mod index;
pub mod quarantine;
pub mod retention;
