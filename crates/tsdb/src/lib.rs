//! promlite-tsdb (being built).

pub mod codec;
