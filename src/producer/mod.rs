//! The bundled producer: the real send path (route lookup, publish queues, round-robin
//! selection, SEND_MESSAGE_V2, response processing) against a real NameServer and Broker.
//! `send_path` is the pure protocol logic; `client` does the networking (tokio).

pub mod client;
pub mod conn;
pub mod run;
pub mod send_path;
pub mod validators;
