//! Outbound safety for data-source and remote_write URLs: http(s) only, and never link-local or
//! cloud-metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200)
//! unless the configuration allows them. Checked when a source is saved and again for every
//! address a host name resolves to when a request is made (no DNS rebinding around it).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

pub fn forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_link_local()
                || v4.octets() == [100, 100, 100, 200]
                || v4.is_unspecified()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
                || v6.is_unspecified()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| forbidden_ip(IpAddr::V4(v4)))
        }
    }
}

/// Checks a source URL's shape; returns it parsed.
pub fn check_url(raw: &str, allow_link_local: bool) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a URL: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err("only http and https URLs are allowed".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put credentials in `auth`, not in the URL".into());
    }
    let host = url.host_str().ok_or("the URL needs a host")?;
    if host.eq_ignore_ascii_case("metadata.google.internal")
        || host.eq_ignore_ascii_case("metadata")
    {
        return Err("cloud metadata endpoints are not allowed".into());
    }
    if !allow_link_local {
        if let Some(ip) = url.host().and_then(|h| match h {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        }) {
            if forbidden_ip(ip) {
                return Err(format!("{ip} is a link-local or cloud-metadata address"));
            }
        }
    }
    Ok(url)
}

/// A resolver that drops forbidden addresses, so a name cannot be pointed at them later.
pub struct GuardedResolver {
    pub allow_link_local: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_link_local;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow || !forbidden_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no allowed address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

pub fn resolver(allow_link_local: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_link_local })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_link_local_addresses_are_refused() {
        for bad in [
            "http://169.254.169.254/latest",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]:9090/",
            "http://metadata.google.internal/",
            "file:///etc/passwd",
            "http://user:pw@host/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        for ok in [
            "http://127.0.0.1:9090",
            "https://prometheus.internal:9090/prefix",
            "http://10.0.0.5:8428",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        assert!(check_url("http://169.254.169.254/", true).is_ok());
    }
}
