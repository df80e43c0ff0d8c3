//! A small HTTP/1.1 client for one thing: `POST <base>/api/chat` with a JSON
//! body against a plain-`http://` Ollama server, over `std::net::TcpStream`.
//!
//! One request per connection (`Connection: close`). The response body is
//! read by `Content-Length`, `Transfer-Encoding: chunked`, or to end of
//! stream, with one deadline covering connect, write and read, and a size cap.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Largest response body accepted (a chat reply is a few KiB to a few MiB).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a request failed, as one human-readable line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError(pub String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

fn err(msg: impl Into<String>) -> HttpError {
    HttpError(msg.into())
}

/// Where to connect: host (as written, brackets removed for IPv6) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// The `Host:` header value (`host` or `host:port` as in the URL).
    pub authority: String,
}

/// Parses an `http://host[:port][/path]` base URL. The path is ignored
/// (requests go to the absolute path `/api/chat`, as the original resolved
/// `new URL('/api/chat', base)`). `https://` is refused: this client speaks
/// plain HTTP only.
pub fn parse_base_url(url: &str) -> Result<Endpoint, HttpError> {
    let trimmed = url.trim();
    let lower = trimmed.to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &trimmed["http://".len()..]
    } else if lower.starts_with("https://") {
        return Err(err(format!(
            "https base URLs are not supported (plain http only): {trimmed}"
        )));
    } else {
        return Err(err(format!(
            "invalid base URL (expected http://host[:port]): {trimmed}"
        )));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Drop user info; it is never sent.
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(err(format!("invalid base URL (no host): {trimmed}")));
    }
    let (host, port_text) = if let Some(after) = authority.strip_prefix('[') {
        let (h, tail) = after
            .split_once(']')
            .ok_or_else(|| err(format!("invalid base URL (bad IPv6 host): {trimmed}")))?;
        match tail {
            "" => (h.to_string(), None),
            t => match t.strip_prefix(':') {
                Some(p) => (h.to_string(), Some(p)),
                None => return Err(err(format!("invalid base URL: {trimmed}"))),
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(err(format!("invalid base URL (no host): {trimmed}")));
    }
    let port = match port_text {
        None | Some("") => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| err(format!("invalid base URL (bad port): {trimmed}")))?,
    };
    Ok(Endpoint {
        host,
        port,
        authority: authority.to_string(),
    })
}

/// A finished response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

fn remaining(deadline: Instant) -> Result<Duration, HttpError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(err("request timed out"))
    } else {
        Ok(left)
    }
}

/// POSTs `body` (JSON) to `path` on `ep`, all within `deadline`.
pub fn post_json(
    ep: &Endpoint,
    path: &str,
    body: &[u8],
    deadline: Instant,
) -> Result<Response, HttpError> {
    let addrs: Vec<_> = (ep.host.as_str(), ep.port)
        .to_socket_addrs()
        .map_err(|e| err(format!("cannot resolve {}: {e}", ep.host)))?
        .collect();
    let mut last = err(format!("cannot resolve {}", ep.host));
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = err(format!("connect {addr}: {e}")),
        }
    }
    let mut stream = stream.ok_or(last)?;
    let _ = stream.set_nodelay(true);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        ep.authority,
        body.len()
    );
    stream
        .set_write_timeout(Some(remaining(deadline)?))
        .map_err(|e| err(format!("socket: {e}")))?;
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .map_err(|e| io_err("send request", &e))?;
    read_response(&mut stream, deadline)
}

fn io_err(what: &str, e: &std::io::Error) -> HttpError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => err("request timed out"),
        _ => err(format!("{what}: {e}")),
    }
}

/// A reader over a socket that re-arms the read timeout from one deadline.
struct DeadlineReader<'a> {
    stream: &'a mut TcpStream,
    deadline: Instant,
}

/// Longest single blocking read, so a termination request is noticed soon.
const READ_SLICE: Duration = Duration::from_millis(250);

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(sig) = acp_core::process::termination_signal() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    format!("stopped by signal {sig}"),
                ));
            }
            let left = remaining(self.deadline)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::TimedOut, e.0))?;
            self.stream.set_read_timeout(Some(left.min(READ_SLICE)))?;
            match self.stream.read(buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                other => return other,
            }
        }
    }
}

fn read_response(stream: &mut TcpStream, deadline: Instant) -> Result<Response, HttpError> {
    let mut r = DeadlineReader { stream, deadline };
    parse_response(&mut r)
}

/// Reads and parses one HTTP/1.x response from `r` (exposed for tests).
pub fn parse_response(r: &mut dyn Read) -> Result<Response, HttpError> {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 64 * 1024 {
            return Err(err("response headers too large"));
        }
        let n = r
            .read(&mut chunk)
            .map_err(|e| io_err("read response", &e))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                err("connection closed without a response")
            } else {
                err("connection closed in the response headers")
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(err(format!("not an HTTP/1.x response: {status_line}")));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| err(format!("bad status line: {status_line}")))?;
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name == "content-length" {
            content_length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| err(format!("bad Content-Length: {value}")))?,
            );
        } else if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
    }
    let body = if chunked {
        read_chunked(r, rest)?
    } else if let Some(len) = content_length {
        if len > MAX_RESPONSE_BYTES {
            return Err(err("response too large"));
        }
        while rest.len() < len {
            let n = r
                .read(&mut chunk)
                .map_err(|e| io_err("read response", &e))?;
            if n == 0 {
                return Err(err("connection closed before the whole response body"));
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        rest
    } else {
        loop {
            if rest.len() > MAX_RESPONSE_BYTES {
                return Err(err("response too large"));
            }
            let n = r
                .read(&mut chunk)
                .map_err(|e| io_err("read response", &e))?;
            if n == 0 {
                break rest;
            }
            rest.extend_from_slice(&chunk[..n]);
        }
    };
    Ok(Response { status, body })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Longest chunk-size line (size plus extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;

fn read_chunked(r: &mut dyn Read, mut buf: Vec<u8>) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut fill = |buf: &mut Vec<u8>| -> Result<(), HttpError> {
        let n = r
            .read(&mut chunk)
            .map_err(|e| io_err("read response", &e))?;
        if n == 0 {
            return Err(err("connection closed inside a chunked body"));
        }
        buf.extend_from_slice(&chunk[..n]);
        Ok(())
    };
    loop {
        let line_end = loop {
            if let Some(p) = find(&buf, b"\r\n") {
                break p;
            }
            if buf.len() > MAX_CHUNK_LINE {
                return Err(err("bad chunk size line (too long)"));
            }
            fill(&mut buf)?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| err(format!("bad chunk size: {size_hex}")))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            return Ok(body);
        }
        // `body.len() <= MAX_RESPONSE_BYTES` always; no overflow on a huge size.
        if size > MAX_RESPONSE_BYTES - body.len() {
            return Err(err("response too large"));
        }
        while buf.len() < size + 2 {
            fill(&mut buf)?;
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms() {
        let ep = parse_base_url("http://localhost:11434").unwrap();
        assert_eq!((ep.host.as_str(), ep.port), ("localhost", 11434));
        let ep = parse_base_url("http://127.0.0.1:9/ignored/path/").unwrap();
        assert_eq!(
            (ep.host.as_str(), ep.port, ep.authority.as_str()),
            ("127.0.0.1", 9, "127.0.0.1:9")
        );
        let ep = parse_base_url("HTTP://example").unwrap();
        assert_eq!(ep.port, 80);
        let ep = parse_base_url("http://[::1]:8080").unwrap();
        assert_eq!((ep.host.as_str(), ep.port), ("::1", 8080));
        let ep = parse_base_url("http://user:pw@h:1").unwrap();
        assert_eq!((ep.host.as_str(), ep.authority.as_str()), ("h", "h:1"));
        assert!(parse_base_url("https://h").unwrap_err().0.contains("https"));
        assert!(parse_base_url("ftp://h").is_err());
        assert!(parse_base_url("http://h:0").is_err());
        assert!(parse_base_url("http://h:x").is_err());
        assert!(parse_base_url("http://").is_err());
    }

    #[test]
    fn parses_content_length_body() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}trailing";
        let resp = parse_response(&mut &raw[..]).unwrap();
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"{}"[..]));
    }

    #[test]
    fn parses_chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let resp = parse_response(&mut &raw[..]).unwrap();
        assert_eq!(resp.body, b"abcde");
    }

    #[test]
    fn reads_to_eof_without_length() {
        let raw = b"HTTP/1.0 500 Oops\r\n\r\n{\"error\":\"x\"}";
        let resp = parse_response(&mut &raw[..]).unwrap();
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (500, &b"{\"error\":\"x\"}"[..])
        );
    }

    #[test]
    fn huge_chunk_sizes_are_refused_not_a_panic() {
        for size in ["ffffffffffffffff", "fffffffffffffffe", "7fffffffffffffff"] {
            let raw = format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n{size}\r\nxyz"
            );
            let e = parse_response(&mut raw.as_bytes()).unwrap_err();
            assert_eq!(e.0, "response too large", "{size}");
        }
    }

    /// Yields `left` bytes of `b'1'` (a chunk-size line that never ends),
    /// counting what was taken.
    struct Endless {
        left: usize,
        taken: usize,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.left);
            buf[..n].fill(b'1');
            self.left -= n;
            self.taken += n;
            Ok(n)
        }
    }

    #[test]
    fn endless_chunk_size_line_is_bounded() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut body = Endless {
            left: 4 * 1024 * 1024,
            taken: 0,
        };
        let mut r = (&head[..]).chain(&mut body);
        let e = parse_response(&mut r).unwrap_err();
        assert!(e.0.starts_with("bad chunk size"), "{}", e.0);
        assert!(
            body.taken <= 64 * 1024,
            "read {} bytes of one line",
            body.taken
        );
    }

    #[test]
    fn rejects_truncated_and_garbage_responses() {
        assert!(parse_response(&mut &b""[..]).is_err());
        assert!(
            parse_response(&mut &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"[..]).is_err()
        );
        assert!(parse_response(&mut &b"SSH-2.0\r\n\r\n"[..]).is_err());
        assert!(
            parse_response(
                &mut &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..]
            )
            .is_err()
        );
    }
}
