//! promlite-exposition (being built).
