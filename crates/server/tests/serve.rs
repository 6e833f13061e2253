//! `serve` over a real socket: binds, answers HTTP/1.1 on loopback, and adds the request id. Kept in its
//! own test binary because `serve` installs Ctrl-C/SIGTERM handlers for the whole process.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use zonegate_app::{App, FixedClock};
use zonegate_server::{serve, ServerConfig};
use zonegate_store_sqlite::SqliteStore;

#[tokio::test]
async fn serve_answers_on_a_socket() -> Result<(), Box<dyn std::error::Error>> {
    let clock = FixedClock(chrono::Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).single().ok_or("bad time")?);
    let app = Arc::new(App::open(Arc::new(SqliteStore::open_in_memory()?), Arc::new(clock)).await?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(serve(app, ServerConfig::standard(), listener));

    let reply = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect(address)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply)
    })
    .await??;
    server.abort();

    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.to_ascii_lowercase().contains("x-request-id:"), "{reply}");
    assert!(reply.ends_with(r#"{"status":"ok"}"#), "{reply}");
    Ok(())
}
