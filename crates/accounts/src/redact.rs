//! [`redact`]: a URL with its password hidden, for logs and errors. Used by
//! the store spec (`--accounts`), the Redis store and the host (cluster
//! URLs); it depends on nothing else here.

/// `url` with any password replaced by `***` (for logs and errors).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("redis://:s3cret@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(redact("redis://me:s3cret@host"), "redis://me:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
    }
}
