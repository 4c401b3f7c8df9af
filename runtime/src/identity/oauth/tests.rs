//! The resource server's unit tests: scopes, metadata, keys through an
//! issuer outage, `exp` and `nbf` with leeway.

use axum::http::StatusCode;

use super::*;

fn policy() -> ScopePolicy {
    ScopePolicy {
        read: Some("read".into()),
        write: Some("write".into()),
        tools: [("delete_pet".to_string(), "admin".to_string())].into(),
    }
}

fn access(scopes: &[&str]) -> Access {
    Access {
        grant: Grant {
            subject: "alice".into(),
            client_id: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            token: Secret::new(String::new()),
            expires_at: None,
        },
        issuer: Arc::from("https://issuer.example"),
        policy: Arc::new(policy()),
    }
}

#[test]
fn tools_need_their_own_scope_else_read_or_write_by_annotation() {
    let policy = policy();
    assert_eq!(policy.needed("list_pets", true), Some("read"));
    assert_eq!(policy.needed("create_pet", false), Some("write"));
    assert_eq!(policy.needed("delete_pet", false), Some("admin"));
    assert_eq!(ScopePolicy::default().needed("create_pet", false), None);
    let reader = access(&["read", "unrelated"]);
    assert!(reader.allows("list_pets", true) && !reader.allows("create_pet", false));
    assert!(!access(&["write"]).allows("delete_pet", false));
    // Equal keys for grants that allow the same tools, whatever else they hold.
    assert_eq!(reader.key(), access(&["read", "other"]).key());
    assert_ne!(reader.key(), access(&["read", "write"]).key());
}

#[test]
fn scopes_come_from_scope_or_scp_in_either_form() {
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(scopes_of(Some("a  b"), None), set(&["a", "b"]));
    assert_eq!(
        scopes_of(None, Some(&serde_json::json!(["c", 1, "d"]))),
        set(&["c", "d"])
    );
    assert_eq!(scopes_of(Some("a"), Some(&serde_json::json!("e"))), set(&["a", "e"]));
    assert!(scopes_of(None, Some(&serde_json::json!({"x": 1}))).is_empty());
}

#[test]
fn only_asymmetric_keys_of_the_tokens_algorithm_verify() {
    let jwk = |value: serde_json::Value| serde_json::from_value::<Jwk>(value).unwrap();
    let secret = jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}));
    assert!(
        decoding_key(&secret, Algorithm::HS256).is_none(),
        "HMAC keys are never used"
    );
    let rsa = jwk(
        serde_json::json!({"kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB", "alg": "RS256"}),
    );
    assert!(decoding_key(&rsa, Algorithm::RS256).is_some());
    assert!(decoding_key(&rsa, Algorithm::PS256).is_none(), "the key names RS256");
    assert!(decoding_key(&rsa, Algorithm::ES256).is_none());
    assert!(
        !ALGORITHMS
            .iter()
            .any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
    );
}

/// The ring-backed checks for the curves (RSA is covered end to end
/// against oidc-provider): a token signed with ring verifies through
/// jsonwebtoken with the key as a JWK, and a changed token doesn't.
#[test]
fn ecdsa_and_eddsa_signatures_verify_through_ring() {
    use base64::Engine;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    let _ = ring_crypto::PROVIDER.install_default();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let rng = ring::rand::SystemRandom::new();
    let claims = b64(br#"{"sub":"alice","exp":4102444800}"#);
    let check = |alg: Algorithm, kid: &str, jwk: serde_json::Value, sign: &dyn Fn(&[u8]) -> Vec<u8>| {
        let head = b64(format!(r#"{{"alg":"{alg:?}","kid":"{kid}"}}"#).as_bytes());
        let message = format!("{head}.{claims}");
        let token = format!("{message}.{}", b64(&sign(message.as_bytes())));
        let key = decoding_key(&serde_json::from_value(jwk).unwrap(), alg).expect("a key for its algorithm");
        let mut validation = Validation::new(alg);
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        let decoded = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation);
        assert_eq!(decoded.expect("verifies").claims["sub"], "alice", "{alg:?}");
        let forged = format!(
            "{head}.{}.{}",
            b64(br#"{"sub":"mallory","exp":4102444800}"#),
            token.rsplit('.').next().unwrap()
        );
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(&forged, &key, &validation).is_err(),
            "{alg:?}"
        );
    };
    let p256 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let p256 = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p256.as_ref(), &rng).unwrap();
    let point = p256.public_key().as_ref();
    let jwk =
        serde_json::json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]), "kid": "e"});
    check(Algorithm::ES256, "e", jwk, &|m| {
        p256.sign(&rng, m).unwrap().as_ref().to_vec()
    });
    let ed = Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": b64(ed.public_key().as_ref()), "kid": "d"});
    check(Algorithm::EdDSA, "d", jwk, &|m| ed.sign(m).as_ref().to_vec());
}

/// An hour-old key set still verifies while the issuer is down (and is
/// retried a minute later, not on every request); a refetch for an
/// unknown key id while it is down is an outage (503), not a bad token.
#[tokio::test]
async fn keys_outlive_an_issuer_outage() {
    let jwks = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "d"}]});
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get({
            let (down, jwks) = (down.clone(), jwks.to_string());
            move || async move {
                match down.load(std::sync::atomic::Ordering::SeqCst) {
                    true => Err(StatusCode::SERVICE_UNAVAILABLE),
                    false => Ok(jwks),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let options = OAuthOptions {
        issuer: "http://127.0.0.1:9".into(),
        audience: "http://127.0.0.1:9/mcp".into(),
        required_scopes: Vec::new(),
        scopes: policy(),
        jwks_uri: Some(uri),
        introspection_uri: None,
        client: None,
        leeway: Duration::ZERO,
        jwks_min_refresh: Duration::ZERO,
    };
    let mut verifier = Verifier::new(options).unwrap();
    assert_eq!(verifier.keys_for(Some("d"), false).await.unwrap().len(), 1);
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    verifier.keys_max_age = Duration::ZERO; // the set is now "an hour" old
    assert_eq!(
        verifier.keys_for(Some("d"), false).await.unwrap().len(),
        1,
        "kept while the issuer is down"
    );
    let retry_in = verifier.keys.read().await.as_ref().unwrap().fetched.elapsed();
    assert!(
        retry_in < Duration::from_secs(1),
        "the failed refetch reschedules, {retry_in:?}"
    );
    assert!(matches!(
        verifier.keys_for(Some("new"), true).await,
        Err(Refusal::Unavailable(_))
    ));
}

/// `exp` and `nbf` are checked with the configured leeway, both ways: a
/// token expired (or not yet valid) by less than the leeway passes, by
/// more it is refused with the reason; with no leeway both are refused.
#[tokio::test]
async fn exp_and_nbf_are_checked_with_the_leeway() {
    use base64::Engine as _;
    use ring::signature::KeyPair as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let jwks = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": b64(pair.public_key().as_ref())}]});
    let (issuer, audience) = ("https://login.example.com", "https://mcp.example.com/mcp");
    let token = |exp: i64, nbf: i64| {
        let now = now_seconds() as i64;
        let header = b64(br#"{"alg":"EdDSA","typ":"JWT","kid":"k"}"#);
        let claims = serde_json::json!({"iss": issuer, "aud": audience, "sub": "alice",
            "exp": now + exp, "nbf": now + nbf, "scope": "read"});
        let signed = format!("{header}.{}", b64(claims.to_string().as_bytes()));
        format!("{signed}.{}", b64(pair.sign(signed.as_bytes()).as_ref()))
    };
    let verifier = |leeway: u64| {
        let verifier = Verifier::new(OAuthOptions {
            issuer: issuer.into(),
            audience: audience.into(),
            required_scopes: Vec::new(),
            scopes: policy(),
            jwks_uri: None,
            introspection_uri: None,
            client: None,
            leeway: Duration::from_secs(leeway),
            jwks_min_refresh: Duration::ZERO,
        })
        .unwrap();
        let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
        verifier.keys.try_write().unwrap().replace(Keys {
            set,
            fetched: Instant::now(),
        });
        verifier
    };
    let refused = |outcome: Result<Grant, Refusal>| match outcome {
        Err(Refusal::Invalid(why)) => why,
        Ok(grant) => panic!("accepted for {}", grant.subject),
        Err(Refusal::Unavailable(why)) => panic!("unavailable: {why}"),
    };
    let lenient = verifier(60);
    for (what, exp, nbf) in [
        ("valid", 600, -600),
        ("expired 20 s ago", -20, -600),
        ("valid in 20 s", 600, 20),
    ] {
        let grant = lenient.verify(&token(exp, nbf)).await;
        assert_eq!(
            grant.map(|g| g.subject).ok().as_deref(),
            Some("alice"),
            "{what}, 60 s leeway"
        );
    }
    let why = refused(lenient.verify(&token(-120, -600)).await);
    assert_eq!(why, "the token has expired");
    let why = refused(lenient.verify(&token(600, 120)).await);
    assert_eq!(why, "the token is not valid yet (nbf)");
    let strict = verifier(0);
    assert_eq!(refused(strict.verify(&token(-20, -600)).await), "the token has expired");
    assert_eq!(
        refused(strict.verify(&token(600, 20)).await),
        "the token is not valid yet (nbf)"
    );
}

#[test]
fn metadata_lives_under_the_audiences_origin_at_the_requests_path() {
    let options = OAuthOptions {
        issuer: "https://login.example.com".into(),
        audience: "https://mcp.example.com/mcp".into(),
        required_scopes: vec!["mcp".into()],
        scopes: policy(),
        jwks_uri: None,
        introspection_uri: None,
        client: None,
        leeway: Duration::ZERO,
        jwks_min_refresh: Duration::ZERO,
    };
    let server = ResourceServer::new(options, "pets").unwrap();
    assert_eq!(
        server.metadata_url("/mcp/store"),
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp/store"
    );
    let metadata: Value = serde_json::from_str(&server.metadata).unwrap();
    assert_eq!(
        metadata["scopes_supported"],
        serde_json::json!(["admin", "mcp", "read", "write"])
    );
    let refused = server.insufficient_scope("/mcp", "write");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.contains(r#"error="insufficient_scope""#), "{challenge}");
    assert!(challenge.ends_with(r#"scope="mcp write""#), "{challenge}");
}
