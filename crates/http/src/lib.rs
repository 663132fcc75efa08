//! promlite-http (being built).
