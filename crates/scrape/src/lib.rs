//! promlite-scrape (being built).
