//! A slow, distant link on loopback: a TCP proxy that delays every byte by
//! a one-way delay in each direction and paces each direction to a rate,
//! like a bottleneck router with the round trip of a far server.
//!
//! Each direction of a connection is a reader thread and a writer thread:
//! the reader takes what the sender has (at most 256 KiB), gives it
//! a departure time on the link (the rate's pacing, from the last
//! departure) and an arrival time (departure plus the delay), and sleeps
//! until it departs, so the sender is held back by TCP's flow control as
//! by a real bottleneck; the writer sleeps until each piece arrives and
//! writes it. What is in flight is one rate × delay, as on a real link.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The most the proxy reads at once: at 1 Gbit/s, 2 ms of the link, so a
/// thread's oversleep (tens of microseconds) is a small part of a piece.
const READ: usize = 256 * 1024;

/// How far behind its pacing a direction may fall and still catch up: a
/// sleep that overshoots is made good by the next pieces departing at
/// once, an idle direction starts afresh.
const CATCH_UP: Duration = Duration::from_millis(2);

/// A link's shape: the same in both directions.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    /// Bytes per second each direction carries.
    pub rate: u64,
    /// The round trip: each direction delays by half of it.
    pub round_trip: Duration,
}

impl Link {
    /// `megabits` per second, `round_trip_ms` away.
    #[must_use]
    pub fn new(megabits: u64, round_trip_ms: u64) -> Self {
        Self {
            rate: megabits * 1_000_000 / 8,
            round_trip: Duration::from_millis(round_trip_ms),
        }
    }

    /// How long `bytes` take on the wire at this rate.
    fn wire_time(&self, bytes: usize) -> Duration {
        Duration::from_nanos(
            u64::try_from(bytes as u128 * 1_000_000_000 / u128::from(self.rate.max(1)))
                .unwrap_or(u64::MAX),
        )
    }
}

/// A proxy listening on loopback, not yet forwarding: bind it first so its
/// address can go into the server's configuration, then [`Self::serve`].
#[derive(Debug)]
pub struct LinkListener {
    listener: TcpListener,
    link: Link,
}

impl LinkListener {
    /// Binds a free loopback port for a proxy of `link`.
    ///
    /// # Errors
    ///
    /// When no port can be bound.
    pub fn bind(link: Link) -> io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind("127.0.0.1:0")?,
            link,
        })
    }

    /// `http://127.0.0.1:PORT`: where clients connect to go through the link.
    ///
    /// # Errors
    ///
    /// When the socket has no address.
    pub fn base_url(&self) -> io::Result<String> {
        Ok(format!("http://{}", self.listener.local_addr()?))
    }

    /// Forwards every connection to `upstream` through the link, on
    /// background threads, for as long as the process runs.
    pub fn serve(self, upstream: SocketAddr) {
        let Self { listener, link } = self;
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                thread::spawn(move || {
                    if let Ok(server) = TcpStream::connect(upstream) {
                        forward(client, server, link);
                    }
                });
            }
        });
    }
}

/// Both directions of one connection; returns when both have ended.
fn forward(client: TcpStream, server: TcpStream, link: Link) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = thread::spawn(move || direction(client, server, link));
    direction(server2, client2, link);
    let _ = up.join();
}

/// One direction: `from`'s bytes to `to`, paced and delayed.
fn direction(mut from: TcpStream, to: TcpStream, link: Link) {
    let delay = link.round_trip / 2;
    let (pieces, arrivals) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = {
        let mut to = match to.try_clone() {
            Ok(to) => to,
            Err(_) => return,
        };
        thread::spawn(move || {
            for (arrival, piece) in arrivals {
                sleep_until(arrival);
                if to.write_all(&piece).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        })
    };
    let mut buf = vec![0u8; READ];
    let mut next_free = Instant::now();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = Instant::now();
        if now > next_free + CATCH_UP {
            next_free = now;
        }
        let departure = next_free + link.wire_time(n);
        next_free = departure;
        if pieces.send((departure + delay, buf[..n].to_vec())).is_err() {
            break;
        }
        sleep_until(departure);
    }
    drop(pieces);
    let _ = writer.join();
    // The other side learns of the end only after the writer's last piece.
    let _ = from.shutdown(Shutdown::Read);
}

fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        thread::sleep(at - now);
    }
}
