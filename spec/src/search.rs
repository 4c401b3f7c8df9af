//! Searching a server's operations: the words the generator indexes and the
//! ranking the runtime answers queries with. Both sides use this module, so a
//! query is cut into words exactly as the index was.
//!
//! The index is built by `mcpgen generate` and emitted as static tables
//! (`SearchIndex<'static>`), so a server does no work at start-up. Ranking is
//! BM25 over field-weighted term frequencies (BM25F's simplification: a word in
//! a tool's name counts more than one in its description), after a query is
//! read as intent (`query_words`: values left out, phrasal verbs read as one
//! word, generic synonyms at a lower weight), then the best candidates ranked
//! again by how much of their name the query explains.
//!
//! Quality is measured on frozen query sets never tuned on
//! (`generator/tests/search.rs`); a change here is judged there.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// BM25's term-frequency saturation and length normalisation. `K1` is above
/// plain BM25's 1.2 because frequencies here are field-weighted: a word in a
/// tool's name must keep counting for more than one in its description.
const K1: f32 = 2.0;
const B: f32 = 0.75;
/// How much a word the query didn't say but means (a synonym) counts.
const SYNONYM_WEIGHT: f32 = 0.4;
/// How much an indexed word counts that a said word begins (`react` for `reaction`).
const LONGER_FORM_WEIGHT: f32 = 0.5;
/// How many of the best tools by BM25 are ranked again by their names.
const RERANKED: usize = 50;
/// How much the hint "a plural noun asks for a list" counts.
const PLURAL_WEIGHT: f32 = 0.3;

/// An inverted index over a server's tools.
#[derive(Debug, Clone, Copy)]
pub struct SearchIndex<'a> {
    /// Every indexed word, in byte order, with its postings: (tool index,
    /// field-weighted frequency of the word in that tool's text).
    pub terms: &'a [(&'a str, &'a [(u32, u16)])],
    /// The field-weighted number of words of each tool, by tool index.
    pub lengths: &'a [u16],
}

/// One ranked tool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub tool: usize,
    pub score: f32,
}

impl SearchIndex<'static> {
    /// An index of no tools.
    pub const EMPTY: SearchIndex<'static> = SearchIndex {
        terms: &[],
        lengths: &[],
    };
}

impl SearchIndex<'_> {
    /// The `limit` best tools for `query` among those `allowed`, best first
    /// (ties in tool order). Tools that share no word with the query are left
    /// out. `name` gives a tool's name: among the best candidates, a tool
    /// whose name the query explains more of ranks higher (`repos_delete`
    /// before `teams_remove_repo_in_org` for "delete a repository").
    pub fn search<'n>(
        &self,
        query: &str,
        allowed: &dyn Fn(usize) -> bool,
        name: &dyn Fn(usize) -> &'n str,
        limit: usize,
    ) -> Vec<Hit> {
        let tools = self.lengths.len();
        if tools == 0 || limit == 0 {
            return Vec::new();
        }
        let average = self.lengths.iter().map(|&l| f32::from(l)).sum::<f32>() / tools as f32;
        let mut scores = vec![0f32; tools];
        // Which of the query's own words (or their synonyms) each tool has, as
        // bits: `strong` where one is in more than the description.
        let mut matched = vec![0u64; tools];
        let mut strong = vec![0u64; tools];
        let mut wanted = query_words(query);
        wanted.extend(self.longer_forms(&wanted));
        let asked: Vec<&str> = wanted.iter().map(|w| w.word.as_str()).collect();
        let said = wanted.iter().map(|w| w.origin).max().map_or(0, |m| m + 1).min(64);
        // How telling each said word is: the highest idf of it or its synonyms in the index.
        let mut telling = vec![0f32; said];
        for QueryWord { word, weight, origin } in &wanted {
            let (weight, origin) = (*weight, *origin);
            let Ok(at) = self.terms.binary_search_by(|(term, _)| (*term).cmp(word.as_str())) else {
                continue;
            };
            let postings = self.terms[at].1;
            let df = postings.len() as f32;
            let idf = (1.0 + (tools as f32 - df + 0.5) / (df + 0.5)).ln();
            if let Some(t) = telling.get_mut(origin) {
                *t = t.max(idf);
            }
            for &(tool, tf) in postings {
                let Some(score) = scores.get_mut(tool as usize) else {
                    continue;
                };
                let tf = f32::from(tf);
                let norm = 1.0 - B + B * f32::from(self.lengths[tool as usize]) / average.max(1.0);
                *score += weight * idf * tf * (K1 + 1.0) / (tf + K1 * norm);
                if origin < 64 {
                    matched[tool as usize] |= 1 << origin;
                    if tf > 1.0 {
                        strong[tool as usize] |= 1 << origin;
                    }
                }
            }
        }
        // A tool that has more of what was asked ranks higher, each said word
        // counting as much as it tells (its idf; a word only mentioned in the
        // description counts half): one rare word alone must not outrank all
        // the others together, and a word every tool has changes nothing.
        let total: f32 = telling.iter().sum();
        let coverage = |tool: usize| {
            let credit: f32 = (0..said)
                .filter(|&o| matched[tool] & (1 << o) != 0)
                .map(|o| telling[o] * if strong[tool] & (1 << o) != 0 { 1.0 } else { 0.5 })
                .sum();
            credit / total.max(f32::MIN_POSITIVE)
        };
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .enumerate()
            .filter(|&(tool, score)| score > 0.0 && allowed(tool))
            .map(|(tool, score)| Hit {
                tool,
                score: score * coverage(tool),
            })
            .collect();
        let by_score = |a: &Hit, b: &Hit| b.score.total_cmp(&a.score).then(a.tool.cmp(&b.tool));
        hits.sort_by(by_score);
        hits.truncate(limit.saturating_mul(5).max(RERANKED));
        // Each name word counts as much as it tells tools apart (its idf):
        // words most names share (`get`, `v1`, an API group) explain little.
        let idf = |word: &str| match self.terms.binary_search_by(|(term, _)| (*term).cmp(word)) {
            Ok(at) => {
                let df = self.terms[at].1.len() as f32;
                (1.0 + (tools as f32 - df + 0.5) / (df + 0.5)).ln()
            }
            Err(_) => 0.0,
        };
        for hit in &mut hits {
            let named = words(name(hit.tool));
            let whole: f32 = named.iter().map(|w| idf(w)).sum();
            let explained: f32 = named
                .iter()
                .filter(|w| asked.contains(&w.as_str()))
                .map(|w| idf(w))
                .sum();
            hit.score *= 1.0 + explained / whole.max(f32::MIN_POSITIVE);
        }
        hits.sort_by(by_score);
        hits.truncate(limit);
        hits
    }

    /// Indexed words that a said word begins and that are not much longer:
    /// forms the stemmer doesn't join (`react` → `reaction`, `config` → `configur`).
    fn longer_forms(&self, wanted: &[QueryWord]) -> Vec<QueryWord> {
        let mut out = Vec::new();
        for said in wanted.iter().filter(|w| w.weight == 1.0 && w.word.len() >= 4) {
            let start = self.terms.partition_point(|(term, _)| *term <= said.word.as_str());
            for (term, _) in self.terms[start..]
                .iter()
                .take_while(|(term, _)| term.starts_with(said.word.as_str()))
            {
                if term.len() * 3 <= said.word.len() * 5
                    && !wanted.iter().chain(&out).any(|w: &QueryWord| w.word == *term)
                {
                    out.push(QueryWord {
                        word: term.to_string(),
                        weight: LONGER_FORM_WEIGHT,
                        origin: said.origin,
                    });
                }
            }
        }
        out
    }
}

/// The indexed words of `text`: split at anything not a letter or digit and
/// at camelCase humps, lower-cased, without filler words, stemmed
/// (`listPullRequests` → `list`, `pull`, `request`). In text order, repeats kept.
pub fn words(text: &str) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut out = Vec::new();
    for piece in split_words(text) {
        let lower = piece.to_lowercase();
        if says_something(&lower) {
            out.push(stemmer.stem(&lower).into_owned());
        }
    }
    out
}

/// A word to look up for a query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryWord {
    pub word: String,
    pub weight: f32,
    /// Which word the query said that this one stands for (its index among them).
    pub origin: usize,
}

/// A query's words with their weights: each word said once at 1, then the
/// words of its synonym group (generic API vocabulary: create/add/new,
/// repo/repository) at `SYNONYM_WEIGHT`, and `list` for a plural noun
/// (collections are plural) at `PLURAL_WEIGHT`, unless the query said them too.
pub fn query_words(query: &str) -> Vec<QueryWord> {
    let stemmer = Stemmer::create(Algorithm::English);
    let mut said: Vec<(String, bool)> = Vec::new();
    let query = without_values(query);
    let pieces: Vec<String> = split_words(&query)
        .into_iter()
        .map(|piece| match piece.to_lowercase() {
            // "I" is the caller, as "me" and "my" are.
            i if i == "i" => "me".to_string(),
            lower => lower,
        })
        .collect();
    let meant = phrasal_verbs(&stemmer, &pieces);
    for (at, piece) in pieces.iter().enumerate() {
        let lower = match meant[at] {
            Meant::Word => piece.as_str(),
            Meant::Phrase(meaning) => meaning,
            Meant::Particle => continue,
        };
        if !says_something(lower) {
            continue;
        }
        let stem = stemmer.stem(lower).into_owned();
        let plural = lower.len() > 3 && lower.ends_with('s') && !lower.ends_with("ss") && stem.len() < lower.len();
        if !said.iter().any(|(w, _)| *w == stem) {
            said.push((stem, plural));
        }
    }
    let mut out: Vec<QueryWord> = said
        .iter()
        .enumerate()
        .map(|(origin, (word, _))| QueryWord {
            word: word.clone(),
            weight: 1.0,
            origin,
        })
        .collect();
    let add = |word: String, weight: f32, origin: usize, out: &mut Vec<QueryWord>| {
        if !out.iter().any(|w| w.word == word) {
            out.push(QueryWord { word, weight, origin });
        }
    };
    for (origin, (word, plural)) in said.iter().enumerate() {
        for group in stemmed().synonyms.iter().filter(|g| g.contains(word)) {
            for synonym in group {
                add(synonym.clone(), SYNONYM_WEIGHT, origin, &mut out);
            }
        }
        if *plural {
            add("list".to_string(), PLURAL_WEIGHT, origin, &mut out);
        }
    }
    out
}

/// What a word of a query stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Meant {
    /// Itself.
    Word,
    /// With a particle after it, the word a phrasal verb means (`take … back`: `reverse`).
    Phrase(&'static str),
    /// The particle of a phrasal verb: said by the verb's meaning.
    Particle,
}

/// How far after its verb a phrasal verb's particle may be (`take the card off`).
const PARTICLE_REACH: usize = 3;

/// Which pieces of a query are phrasal verbs (`keep me posted`, `bring
/// back`, `set up`): their meaning is one word, not the sum of theirs.
fn phrasal_verbs(stemmer: &Stemmer, pieces: &[String]) -> Vec<Meant> {
    let stems: Vec<String> = pieces.iter().map(|p| stemmer.stem(p).into_owned()).collect();
    let mut meant = vec![Meant::Word; pieces.len()];
    for at in 0..pieces.len() {
        if meant[at] != Meant::Word {
            continue;
        }
        let phrase = stemmed().phrasal_verbs.iter().find_map(|(verb, particle, meaning)| {
            if stems[at] != *verb {
                return None;
            }
            let reach = (at + 1..pieces.len()).take(PARTICLE_REACH);
            reach
                .into_iter()
                .find(|&p| meant[p] == Meant::Word && stems[p] == *particle)
                .map(|p| (p, *meaning))
        });
        if let Some((particle, meaning)) = phrase {
            meant[at] = Meant::Phrase(meaning);
            meant[particle] = Meant::Particle;
        }
    }
    meant
}

/// The vocabulary's words as the index has them (stemmed), made once.
struct Stemmed {
    synonyms: Vec<Vec<String>>,
    phrasal_verbs: Vec<(String, String, &'static str)>,
}

fn stemmed() -> &'static Stemmed {
    static STEMMED: OnceLock<Stemmed> = OnceLock::new();
    STEMMED.get_or_init(|| {
        let stemmer = Stemmer::create(Algorithm::English);
        let stem = |w: &str| stemmer.stem(w).into_owned();
        Stemmed {
            synonyms: SYNONYMS.iter().map(|g| g.iter().map(|w| stem(w)).collect()).collect(),
            phrasal_verbs: PHRASAL_VERBS
                .iter()
                .map(|&(verb, particle, meaning)| (stem(verb), stem(particle), meaning))
                .collect(),
        }
    })
}

/// English phrasal verbs people use for what API operations do: (verb,
/// particle, the word it means).
const PHRASAL_VERBS: &[(&str, &str, &str)] = &[
    ("take", "back", "reverse"),
    ("take", "off", "remove"),
    ("give", "back", "refund"),
    ("pay", "back", "refund"),
    ("bring", "back", "restore"),
    ("set", "up", "create"),
    ("spin", "up", "create"),
    ("sign", "up", "register"),
    ("sign", "in", "login"),
    ("log", "in", "login"),
    ("sign", "out", "logout"),
    ("log", "out", "logout"),
    ("turn", "on", "enable"),
    ("switch", "on", "enable"),
    ("turn", "off", "disable"),
    ("switch", "off", "disable"),
    ("cut", "off", "disable"),
    ("shut", "down", "stop"),
    ("call", "off", "cancel"),
    ("hold", "off", "pause"),
    ("clean", "up", "delete"),
    ("wipe", "out", "delete"),
    ("tear", "down", "delete"),
    ("kick", "out", "remove"),
    ("look", "up", "get"),
    ("find", "out", "get"),
    ("keep", "posted", "watch"),
    ("keep", "eye", "watch"),
    ("hand", "over", "assign"),
    ("put", "away", "archive"),
    ("roll", "back", "rollback"),
    ("roll", "out", "deploy"),
    ("back", "up", "backup"),
    ("top", "up", "topup"),
    ("opt", "out", "unsubscribe"),
    ("opt", "in", "subscribe"),
];

/// A query without the values it names, which say which thing, not which
/// operation: quoted text, identifiers and numbers (`PROJ-12`, `node-3`,
/// `20Gi`, `1234`), `#channel` and `@mention` names. Values whose kind tells
/// something become that kind's word: an e-mail address `email`, a URL
/// `url`, a sum of money `amount`.
fn without_values(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut quoted = false;
    for token in query.split_whitespace() {
        let opens = token.starts_with(['"', '\u{201c}']);
        let closes = token.ends_with(['"', '\u{201d}']) && (token.chars().count() > 1 || quoted);
        if opens || quoted {
            quoted = !closes;
            continue;
        }
        let bare = token.trim_matches(|c: char| !c.is_alphanumeric() && !"#@$€£".contains(c));
        let kind = if bare.contains("://") || bare.starts_with("www.") {
            Some("url")
        } else if bare.contains('@') && bare.rsplit('@').next().is_some_and(|d| d.contains('.')) {
            Some("email")
        } else if bare.starts_with(['$', '€', '£']) && bare.chars().nth(1).is_some_and(|c| c.is_ascii_digit()) {
            Some("amount")
        } else {
            None
        };
        if let Some(kind) = kind {
            out.push_str(kind);
        } else if bare.starts_with(['#', '@']) || is_identifier(bare) {
            continue;
        } else {
            out.push_str(token);
        }
        out.push(' ');
    }
    out
}

/// A number, or a name with a number in it that is not part of a word
/// (`PROJ-12`, `node-3`, `20Gi`, `2.1`; not `v2` or `oauth2`).
fn is_identifier(token: &str) -> bool {
    token
        .split(['-', '_', '.', '/', ':'])
        .any(|piece| piece.starts_with(|c: char| c.is_ascii_digit()))
}

/// Not filler, and not a lone letter (a number is kept: `v2`, `404`).
fn says_something(lower: &str) -> bool {
    (lower.len() >= 2 || lower.chars().all(|c| c.is_ascii_digit())) && !FILLER.contains(&lower)
}

/// Runs of letters and digits, cut again where a lower-case letter or digit
/// meets an upper-case one and before the last capital of an acronym
/// (`HTTPServer` → `HTTP`, `Server`).
fn split_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for run in text.split(|c: char| !c.is_alphanumeric()).filter(|r| !r.is_empty()) {
        let chars: Vec<(usize, char)> = run.char_indices().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (at, c) = chars[i];
            let prev = chars[i - 1].1;
            let next_lower = chars.get(i + 1).is_some_and(|&(_, n)| n.is_lowercase());
            let hump = c.is_uppercase()
                && (prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower));
            if hump {
                out.push(&run[start..at]);
                start = at;
            }
        }
        out.push(&run[start..]);
    }
    out
}

/// Words that say nothing about which operation is meant.
const FILLER: &[&str] = &[
    "a", "an", "and", "any", "are", "as", "at", "be", "been", "by", "can", "could", "do", "does", "for", "from", "how",
    "if", "in", "into", "is", "it", "its", "of", "on", "or", "our", "please", "should", "so", "that", "the", "their",
    "them", "there", "these", "they", "this", "those", "to", "us", "via", "want", "we", "what", "when", "where",
    "which", "will", "with", "would", "you", "your",
];

/// Words REST APIs and the people who call them use for the same thing:
/// what a request does (verbs and the intents behind them: stop, undo,
/// mute, keep me posted) and the things common to many APIs (people and
/// groups, messages, files, money, machines), with everyday words beside
/// the API's. Generic vocabulary only: nothing here names one API's
/// resources, and a group must hold across APIs (a word with two common
/// meanings, like `release`, stays out).
const SYNONYMS: &[&[&str]] = &[
    // What a request does.
    &[
        "create", "add", "new", "make", "post", "insert", "register", "open", "store", "save",
    ],
    &[
        "delete",
        "remove",
        "destroy",
        "erase",
        "drop",
        "unregister",
        "wipe",
        "purge",
        "discard",
        "kick",
    ],
    &[
        "update", "edit", "modify", "change", "patch", "rename", "replace", "set", "fix", "adjust", "alter", "bump",
        "correct",
    ],
    &[
        "get",
        "fetch",
        "retrieve",
        "read",
        "show",
        "view",
        "lookup",
        "detail",
        "details",
        "info",
        "information",
    ],
    &["list", "all", "every", "enumerate", "browse"],
    &["search", "find", "query", "filter", "lookup", "look"],
    &["cancel", "abort", "stop", "terminate", "halt", "end"],
    &["start", "begin", "launch", "trigger", "run", "dispatch"],
    &["restart", "reboot", "rerun", "retry"],
    &[
        "restore",
        "undelete",
        "recover",
        "unarchive",
        "reinstate",
        "revive",
        "undo",
        "revert",
    ],
    &["reverse", "reversal", "undo", "revert", "rollback"],
    &[
        "pause",
        "suspend",
        "disable",
        "deactivate",
        "freeze",
        "mute",
        "snooze",
        "silence",
    ],
    &["resume", "enable", "activate", "unpause", "unmute", "reactivate"],
    &["approve", "accept", "confirm", "allow", "grant"],
    &["reject", "deny", "decline", "refuse"],
    &["send", "deliver", "notify", "ping", "tell", "email"],
    &[
        "schedule",
        "scheduled",
        "later",
        "tomorrow",
        "tonight",
        "delay",
        "defer",
    ],
    &["watch", "watcher", "follow", "follower", "track"],
    &["assign", "assignee", "delegate", "hand"],
    &["link", "relate", "relation", "connect", "associate"],
    &["invite", "invitation"],
    &["leave", "exit", "quit"],
    &["archive", "shelve"],
    &["upload", "attach", "attachment"],
    &["download", "export"],
    &["vote", "upvote", "like"],
    &["react", "reaction", "emoji", "thumbs"],
    &["star", "bookmark", "favorite", "favourite"],
    &["count", "total", "many", "number"],
    // Who and what.
    &["repo", "repository"],
    &["org", "organization", "organisation"],
    &["pr", "pull"],
    &[
        "config",
        "configuration",
        "setting",
        "settings",
        "preference",
        "preferences",
    ],
    &["auth", "authentication", "authorization"],
    &["admin", "administrator"],
    &["env", "environment"],
    &["msg", "message", "chat", "say", "dm"],
    &["doc", "document", "documentation"],
    &["app", "application"],
    &["stat", "stats", "statistic", "statistics", "metric"],
    &[
        "user",
        "account",
        "member",
        "person",
        "people",
        "who",
        "someone",
        "employee",
        "colleague",
    ],
    &["group", "team", "squad"],
    &["me", "my", "mine", "authenticated", "current", "self"],
    &["issue", "ticket", "bug"],
    &["task", "todo"],
    &["comment", "remark", "note", "reply"],
    &["title", "subject", "heading", "summary"],
    &["topic", "subject", "purpose"],
    &["file", "attachment"],
    &["photo", "picture", "avatar", "image", "icon"],
    &["profile", "bio"],
    &["presence", "online", "away"],
    &["permission", "allowed", "allow", "access", "privilege", "right"],
    &["secret", "password", "credential"],
    &["history", "audit", "changelog", "activity", "happened", "timeline"],
    &["error", "failure", "fail", "crash", "wrong", "problem"],
    &["log", "logs", "output", "printed", "stdout"],
    &["webhook", "hook", "callback"],
    &["quota", "limit", "cap"],
    &["time", "hours", "worklog", "timesheet", "spent"],
    &["id", "identifier"],
    &["email", "mail"],
    &["url", "link", "address"],
    // Money.
    &["invoice", "bill"],
    &["balance", "funds", "money", "available"],
    &["price", "cost", "pricing"],
    &["refund", "reimburse", "repay"],
    &["customer", "client", "buyer", "shopper", "payer"],
    &["coupon", "discount", "promo", "promotion", "voucher"],
    &["dispute", "chargeback", "contest"],
    &["subscription", "recurring", "renewal", "renew", "monthly"],
    &["payout", "withdrawal", "withdraw"],
    // Machines.
    &["node", "machine", "host", "server"],
    &["pod", "container"],
    &["disk", "storage", "volume"],
    &["replica", "replicas", "copies", "instances"],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_humps_and_separators_and_drop_filler() {
        assert_eq!(words("listPullRequests"), ["list", "pull", "request"]);
        assert_eq!(
            words("GET /repos/{owner}/{repo}/issues"),
            ["get", "repo", "owner", "repo", "issu"]
        );
        assert_eq!(words("HTTPServer of the v2 API"), ["http", "server", "v2", "api"]);
        assert_eq!(
            words("Delete a repository's webhook"),
            ["delet", "repositori", "webhook"]
        );
    }

    #[test]
    fn queries_reach_synonyms_at_a_lower_weight() {
        let query = query_words("remove a repo");
        let word = |w: &str, weight: f32, origin: usize| QueryWord {
            word: w.to_string(),
            weight,
            origin,
        };
        assert_eq!(query[0], word("remov", 1.0, 0));
        assert!(query.contains(&word("delet", SYNONYM_WEIGHT, 0)));
        assert!(query.contains(&word("repositori", SYNONYM_WEIGHT, 1)));
        assert!(!query.iter().any(|w| w.word == "a"));
        assert!(query_words("my repositories").contains(&word("list", PLURAL_WEIGHT, 1)));
    }

    /// The words a query said, as it is read (not their synonyms).
    fn said(query: &str) -> Vec<String> {
        query_words(query)
            .into_iter()
            .filter(|w| w.weight == 1.0)
            .map(|w| w.word)
            .collect()
    }

    #[test]
    fn a_phrasal_verb_is_read_as_what_it_means() {
        assert_eq!(said("bring back the project"), ["restor", "project"]);
        assert_eq!(said("keep me posted on changes"), ["watch", "me", "chang"]);
        assert_eq!(said("take the card off the file"), ["remov", "card", "file"]);
        assert_eq!(said("take a card"), ["take", "card"], "no particle, no phrase");
    }

    #[test]
    fn values_in_a_query_are_not_its_words() {
        assert_eq!(said("who signed up with alice@example.com"), ["who", "regist", "email"]);
        assert_eq!(said("assign PROJ-7 to Maria"), ["assign", "maria"]);
        assert_eq!(said("set the topic to \"Q3 launch\" in #eng"), ["set", "topic"]);
        assert_eq!(
            said("charge $25 on node-3 with 20Gi, v2 and oauth2"),
            ["charg", "amount", "v2", "oauth2"]
        );
        assert_eq!(said("notify https://example.com/hook"), ["notifi", "url"]);
    }

    #[test]
    fn ranking_prefers_rare_words_and_respects_the_filter() {
        // tool 0: "list pets", tool 1: "get pet", tool 2: "list orders"
        let terms: &[(&str, &[(u32, u16)])] = &[
            ("get", &[(1, 1)]),
            ("list", &[(0, 1), (2, 1)]),
            ("order", &[(2, 3)]),
            ("pet", &[(0, 3), (1, 3)]),
        ];
        let index = SearchIndex {
            terms,
            lengths: &[4, 4, 4],
        };
        let all = |_| true;
        let name = |t: usize| ["list_pets", "get_pet", "list_orders"][t];
        let hits = index.search("list my orders", &all, &name, 10);
        assert_eq!(hits.iter().map(|h| h.tool).collect::<Vec<_>>(), [2, 0]);
        let hits = index.search("get a pet", &all, &name, 1);
        assert_eq!(hits[0].tool, 1);
        let not_two = |t| t != 2;
        assert_eq!(index.search("order", &not_two, &name, 10), []);
        assert_eq!(index.search("unknown thing", &all, &name, 10), []);
    }
}
