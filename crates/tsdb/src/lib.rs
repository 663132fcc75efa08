//! promlite-tsdb (being built).
