//! Binding the listening socket the way a server should: SO_REUSEADDR (a
//! restart does not wait for TIME_WAIT sockets) and a deep accept backlog, so
//! a burst of connections waits in the kernel instead of being dropped and
//! retried by clients a second later (the kernel caps it at
//! `net.core.somaxconn`).

use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Protocol, Socket, Type};

/// Accept backlog asked of the kernel.
pub const BACKLOG: i32 = 4096;

/// Binds `addr` and starts listening.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
