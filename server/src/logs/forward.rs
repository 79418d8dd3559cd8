//! Fluentd's forward protocol on a TCP port of its own (`fluent_forward_listen`, off
//! unless configured): Message, Forward, PackedForward and CompressedPackedForward modes
//! (decoded by `ingest::fluent`), each message stored as one batch and, when it carries a
//! `chunk` option, acknowledged with `{"ack": chunk}` only once durable. The shared-key
//! handshake (`<security>`), TLS and the UDP heartbeat are not spoken: bind the port to
//! loopback or a trusted network. A record the store cannot take (a bad time, too many
//! fields) is counted and left out; the rest of its message is stored and acknowledged.
//! Bounded: [`MAX_CONNECTIONS`] at once, [`MAX_MESSAGE_BYTES`] per message, connections
//! idle for [`IDLE`] are closed.

use std::sync::Arc;
use std::time::Duration;

use ingest::msgpack::{self, ReadError};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::records::from_object;
use super::{LogStore, LogStoreError};

/// Connections served at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 64;
/// Largest message (one MessagePack array), and largest unpacked PackedForward payload.
pub const MAX_MESSAGE_BYTES: usize = 8 << 20;
/// A connection with nothing to read for this long is closed.
pub const IDLE: Duration = Duration::from_secs(300);
/// Protocol name in the ingest counters.
const PROTOCOL: &str = "fluent_forward";

/// Serves the forward protocol on `listener` until the process ends.
pub fn spawn(listener: TcpListener, store: Arc<LogStore>) {
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => {
                    // Out of file descriptors and the like: let it pass.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                store.count_refused(PROTOCOL, "too_many_connections", 1);
                continue;
            };
            let store = store.clone();
            tokio::spawn(async move {
                connection(socket, &store).await;
                drop(permit);
            });
        }
    });
}

/// Reads messages until the peer closes, stays idle, or sends what is not the protocol.
async fn connection(mut socket: TcpStream, store: &LogStore) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        loop {
            match msgpack::read(&buf) {
                Ok((value, used)) => {
                    buf.drain(..used);
                    match handle(value, store).await {
                        Ok(Some(ack)) => {
                            if socket.write_all(&msgpack::ack(&ack)).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(()) => return,
                    }
                }
                Err(ReadError::Incomplete) => break,
                Err(ReadError::Invalid(..)) => {
                    store.count_refused(PROTOCOL, "malformed", 1);
                    return;
                }
            }
        }
        if buf.len() > MAX_MESSAGE_BYTES {
            store.count_refused(PROTOCOL, "too_large", 1);
            return;
        }
        match tokio::time::timeout(IDLE, socket.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    }
}

/// Stores one message; answers the chunk to acknowledge. `Err`: close the connection (a
/// malformed message, or the store could not take it — the sender retries unacknowledged
/// chunks).
async fn handle(value: msgpack::Value, store: &LogStore) -> Result<Option<String>, ()> {
    let limits = *store.limits();
    let decoded = crate::cpu::INGEST
        .run(move || {
            let message = ingest::fluent::decode_message(value, limits.lines, MAX_MESSAGE_BYTES)?;
            let mut records = Vec::with_capacity(message.entries.len());
            let (mut refused, mut over_limit) = (0, 0);
            for e in message.entries {
                let mut o = e.record;
                if !["timestamp", "time", "@timestamp"]
                    .iter()
                    .any(|k| o.contains_key(*k))
                {
                    o.insert("timestamp".into(), Value::from(e.time_ns));
                }
                o.entry("tag").or_insert(Value::String(message.tag.clone()));
                match from_object(o, &message.tag, e.time_ns, &limits) {
                    Ok(r) => records.push(r),
                    Err(r) if r.limit.is_some() => over_limit += 1,
                    Err(_) => refused += 1,
                }
            }
            Ok::<_, String>((records, refused, over_limit, message.chunk))
        })
        .await
        .map_err(|_| store.count_refused(PROTOCOL, "busy", 1))?;
    let (records, refused, over_limit, chunk) = decoded.map_err(|_| {
        store.count_refused(PROTOCOL, "malformed", 1);
    })?;
    store.count_refused(PROTOCOL, "invalid_record", refused);
    store.count_refused(PROTOCOL, "limit", over_limit);
    // Refused or failed: no acknowledgement, the sender keeps the chunk and retries.
    store
        .append(PROTOCOL, records)
        .await
        .map(|_| chunk)
        .map_err(|_: LogStoreError| ())
}
