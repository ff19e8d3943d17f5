//! The store owns the connection to the database and the mechanisms every
//! capability shares: migrations, transactions, the job queue (which is also
//! the outbox) and the append-only audit chain.
//!
//! One implementation of each query: capabilities write SQL that SQLite and
//! PostgreSQL both run, with `$1`-style parameters, integers for ids, money and
//! times (UTC milliseconds), and text for everything else. The few real
//! differences between the two live in [`Dialect`]. This crate knows nothing
//! of HTTP.

pub mod audit;
mod db;
pub mod jobs;
mod migrate;
pub mod token;

pub use db::{Conn, Db, Dialect, Tx};
pub use sqlx::Row;
