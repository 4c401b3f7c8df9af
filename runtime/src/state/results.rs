//! Results too big for a transport's frame budget (#22): the whole result is
//! held here, per caller, and the tool answers with a preview and a
//! `resource_link` to it; `resources/read` returns it in pages that each fit
//! the budget.
//!
//! Held in memory, bounded in bytes and entries, each for a TTL; gone on
//! restart (the link then says so when read). A result is readable only by
//! the caller it was made for: the owner key is the OAuth subject, the
//! static token's caller, or the stdio session.
//!
//! Input: a result's text (already redacted) and its media type. Output: a
//! link (`mcpgen://results/<id>`, 128 random bits), and pages by number.

use std::time::Duration;

use super::{Limits, OwnedStore, random_id};

use base64::Engine;

/// The URI scheme and prefix of held results.
pub const RESULT_URI_PREFIX: &str = "mcpgen://results/";

/// Bounds of the store.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// All held results together, in bytes.
    pub max_bytes: usize,
    /// Held results, at most.
    pub max_entries: usize,
    /// How long a result stays readable.
    pub ttl: Duration,
}

impl Default for StoreLimits {
    fn default() -> StoreLimits {
        let defaults = mcpgen_spec::ResultsSpec::DEFAULT;
        StoreLimits {
            max_bytes: defaults.keep_bytes,
            max_entries: 1024,
            ttl: Duration::from_secs(defaults.keep_seconds),
        }
    }
}

struct Held {
    media_type: String,
    /// `text` is base64 of binary content, read back as a blob.
    blob: bool,
    text: String,
    /// Byte offsets where each page starts (on char boundaries).
    pages: Vec<usize>,
}

/// A held result, as the tool's answer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub uri: String,
    /// Bytes of the result (decoded, for binary content).
    pub size: usize,
    pub pages: usize,
    pub media_type: String,
}

/// One page of a held result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub uri: String,
    /// The page's text, or base64 of its bytes when `blob`.
    pub text: String,
    pub blob: bool,
    pub media_type: String,
    /// 1-based, of `pages`.
    pub number: usize,
    pub pages: usize,
    /// The next page's URI, when there is one.
    pub next: Option<String>,
}

/// Why a read found nothing: the model can act on each differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// Not held (expired, evicted, restarted, another caller's, or never made).
    Gone,
    /// Held, but it has fewer pages.
    NoSuchPage { pages: usize },
    /// Not a URI of this store.
    NotOurs,
}

/// Results held for their callers, bounded in bytes and entries.
pub struct ResultStore {
    held: OwnedStore<Held>,
}

impl ResultStore {
    pub fn new(limits: StoreLimits) -> ResultStore {
        ResultStore {
            held: OwnedStore::new(Limits {
                max_entries: limits.max_entries,
                max_bytes: limits.max_bytes,
                ttl: limits.ttl,
            }),
        }
    }

    /// How long a result stays readable.
    pub fn ttl(&self) -> Duration {
        self.held.ttl()
    }

    /// Holds `text` for `owner`, split into pages of at most `page_bytes`.
    /// `None` when it is bigger than the whole store may hold (or the OS has
    /// no randomness for its id).
    pub fn put(&self, owner: &str, media_type: &str, text: String, page_bytes: usize) -> Option<Link> {
        self.hold(owner, media_type, text, page_bytes, false)
    }

    /// Holds binary content given as base64, in pages of whole base64 quads
    /// (each decodes on its own) of at most `page_bytes`.
    pub fn put_blob(&self, owner: &str, media_type: &str, base64: String, page_bytes: usize) -> Option<Link> {
        self.hold(owner, media_type, base64, page_bytes / 4 * 4, true)
    }

    fn hold(&self, owner: &str, media_type: &str, text: String, page_bytes: usize, blob: bool) -> Option<Link> {
        if page_bytes == 0 {
            return None;
        }
        // Without randomness no id can be unguessable: the caller cuts instead.
        let id = random_id()?;
        let pages = page_starts(&text, page_bytes);
        // Base64 without padding inside: 3 bytes per 4 characters, less the padding.
        let size = if blob {
            text.len() / 4 * 3 - text.bytes().rev().take_while(|&b| b == b'=').count()
        } else {
            text.len()
        };
        let link = Link {
            uri: format!("{RESULT_URI_PREFIX}{id}"),
            size,
            pages: pages.len(),
            media_type: media_type.to_string(),
        };
        let bytes = text.len();
        let held = Held {
            media_type: media_type.to_string(),
            blob,
            text,
            pages,
        };
        self.held.insert(owner, &id, held, bytes).then_some(link)
    }

    /// Page `number` (1-based) of the result at `uri` (`…/<id>` is page 1,
    /// `…/<id>/pages/<n>` page n), for `owner`.
    pub fn read(&self, owner: &str, uri: &str) -> Result<Page, Missing> {
        let rest = uri.strip_prefix(RESULT_URI_PREFIX).ok_or(Missing::NotOurs)?;
        let (id, number) = match rest.split_once("/pages/") {
            Some((id, n)) => (id, n.parse::<usize>().map_err(|_| Missing::NotOurs)?),
            None => (rest, 1),
        };
        // Another caller's result is as absent as an expired one: no oracle.
        let page = self.held.with(owner, id, |held| {
            let pages = held.pages.len();
            if number == 0 || number > pages {
                return Err(Missing::NoSuchPage { pages });
            }
            let start = held.pages[number - 1];
            let end = held.pages.get(number).copied().unwrap_or(held.text.len());
            Ok(Page {
                uri: page_uri(id, number),
                text: held.text[start..end].to_string(),
                blob: held.blob,
                media_type: held.media_type.clone(),
                number,
                pages,
                next: (number < pages).then(|| page_uri(id, number + 1)),
            })
        });
        page.ok_or(Missing::Gone)?
    }
}

impl ResultStore {
    /// All of the result at `uri` (its link or one of its pages) for `owner`,
    /// as bytes (decoded when binary), with its media type: a download sent
    /// on as a file (`files`).
    pub fn whole(&self, owner: &str, uri: &str) -> Result<(Vec<u8>, String), Missing> {
        let rest = uri.strip_prefix(RESULT_URI_PREFIX).ok_or(Missing::NotOurs)?;
        let id = rest.split_once("/pages/").map_or(rest, |(id, _)| id);
        let (text, blob, media_type) = self
            .held
            .with(owner, id, |held| {
                (held.text.clone(), held.blob, held.media_type.clone())
            })
            .ok_or(Missing::Gone)?;
        let bytes = if blob {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| Missing::NotOurs)?
        } else {
            text.into_bytes()
        };
        Ok((bytes, media_type))
    }
}

fn page_uri(id: &str, number: usize) -> String {
    format!("{RESULT_URI_PREFIX}{id}/pages/{number}")
}

/// Byte offsets of pages whose text, as a JSON string, takes at most
/// `page_bytes` (a quote or backslash costs 2 bytes there, a control
/// character up to 6), each starting on a char boundary; a page is never empty.
fn page_starts(text: &str, page_bytes: usize) -> Vec<usize> {
    let mut starts = vec![0];
    let mut used = 0;
    for (at, c) in text.char_indices() {
        let cost = escaped_len(c);
        if used + cost > page_bytes && used > 0 {
            starts.push(at);
            used = 0;
        }
        used += cost;
    }
    starts
}

/// A char's bytes in a JSON string, as serde_json writes it.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> ResultStore {
        ResultStore::new(StoreLimits {
            max_bytes: 1000,
            max_entries: 3,
            ttl: Duration::from_secs(60),
        })
    }

    #[test]
    fn a_held_result_reads_back_in_pages_that_fit_only_for_its_owner() {
        let store = store();
        let text = "é".repeat(100); // 200 bytes, 2-byte chars
        let link = store.put("alice", "application/json", text.clone(), 33).unwrap();
        assert_eq!((link.size, link.pages), (200, 7));
        let mut joined = String::new();
        let mut uri = link.uri.clone();
        loop {
            let page = store.read("alice", &uri).unwrap();
            assert!(page.text.len() <= 33 && !page.text.is_empty());
            joined.push_str(&page.text);
            match page.next {
                Some(next) => uri = next,
                None => break,
            }
        }
        assert_eq!(joined, text);
        assert_eq!(store.read("bob", &link.uri), Err(Missing::Gone));
        assert_eq!(
            store.read("alice", &format!("{}/pages/9", link.uri)),
            Err(Missing::NoSuchPage { pages: 7 })
        );
        assert_eq!(store.read("alice", "https://example.com/x"), Err(Missing::NotOurs));
    }

    #[test]
    fn pages_fit_as_json_strings_whatever_they_hold() {
        let store = store();
        let text = "a\"b\\c\u{1}d\né".repeat(20);
        let link = store.put("a", "text/plain", text.clone(), 16).unwrap();
        let mut joined = String::new();
        for n in 1..=link.pages {
            let page = store.read("a", &format!("{}/pages/{n}", link.uri)).unwrap();
            let escaped = serde_json::to_string(&page.text).unwrap().len() - 2;
            assert!(escaped <= 16 && !page.text.is_empty(), "{escaped}: {:?}", page.text);
            joined.push_str(&page.text);
        }
        assert_eq!(joined, text);
    }

    #[test]
    fn the_store_stays_within_its_bounds_evicting_the_oldest() {
        let store = store();
        let links: Vec<Link> = (0..4)
            .map(|i| store.put("a", "text/plain", format!("{i}").repeat(300), 100).unwrap())
            .collect();
        // 4 × 300 bytes > 1000 and > 3 entries: the first is gone, the rest readable.
        assert_eq!(store.read("a", &links[0].uri), Err(Missing::Gone));
        for link in &links[1..] {
            assert!(store.read("a", &link.uri).is_ok());
        }
        assert!(store.put("a", "text/plain", "x".repeat(1001), 100).is_none());
    }

    #[test]
    fn expired_results_are_gone() {
        let store = ResultStore::new(StoreLimits {
            ttl: Duration::from_millis(1),
            ..StoreLimits::default()
        });
        let link = store.put("a", "text/plain", "x".into(), 10).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.read("a", &link.uri), Err(Missing::Gone));
    }
}
