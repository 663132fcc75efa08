//! promlite-rules (being built).
