//! The client's address, as the log-in throttle keys it. Behind a reverse proxy or load
//! balancer every connection comes from the proxy, so when (and only when) the connection
//! comes from one of `TRUSTED_PROXIES`, the address is taken from `X-Forwarded-For`: the
//! rightmost entry that is not itself a trusted proxy. A client cannot forge its way past
//! that: what it writes into the header lies to the left of what the proxy appended.

use std::net::IpAddr;

pub use ipnet::IpNet;

/// The address to count a request against.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded_for
        .iter()
        .flat_map(|header| header.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    hop.rsplit_once(':')?.0.parse().ok()
}

/// Reads `TRUSTED_PROXIES`: CIDRs or single addresses, separated by commas or spaces.
pub fn parse_trusted_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("\"{part}\" is not an address or a CIDR such as 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let trusted = parse_trusted_proxies("10.0.0.0/8, 192.168.1.5").unwrap_or_default();
        assert_eq!(trusted.len(), 2);
        // Straight from a client: its own claim is ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // Through the balancer.
        assert_eq!(
            client_address(ip("10.1.2.3"), &["203.0.113.7"], &trusted),
            ip("203.0.113.7")
        );
        // A forged entry lies to the left of what the proxies appended.
        assert_eq!(
            client_address(
                ip("10.1.2.3"),
                &["6.6.6.6, 203.0.113.7:5000", "192.168.1.5"],
                &trusted
            ),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &["[2001:db8::7]:443"], &trusted),
            ip("2001:db8::7")
        );
        // No header, or garbage: the proxy's own address.
        assert_eq!(
            client_address(ip("10.1.2.3"), &[], &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &["not-an-ip"], &trusted),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
        assert!(parse_trusted_proxies("proxy.local").is_err());
        assert_eq!(parse_trusted_proxies("").map(|v| v.len()), Ok(0));
    }
}
