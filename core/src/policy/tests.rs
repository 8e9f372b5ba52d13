use super::*;

fn err(text: &str) -> PolicyError {
    Policy::from_toml(text).expect_err("policy should be refused")
}

#[test]
fn documented_defaults_are_the_defaults() {
    assert_eq!(
        Policy::from_toml(DEFAULT_POLICY_TOML).unwrap(),
        Policy::default()
    );
    assert_eq!(Policy::from_toml("").unwrap(), Policy::default());
}

#[test]
fn effective_policy_round_trips() {
    let mut text = String::from(DEFAULT_POLICY_TOML);
    text = text.replace("mode = \"optional\"", "mode = \"required-for-all\"");
    text = text.replace("[step_up]", "[step_up]\nsudo = \"5m\"");
    let p = Policy::from_toml(&text).unwrap();
    assert_eq!(p.enforcement.mode, Mode::RequiredForAll);
    assert_eq!(p.step_up["sudo"], StepUp::any(Duration::from_secs(300)));
    assert_eq!(Policy::from_toml(&p.to_toml()).unwrap(), p);
}

#[test]
fn unknown_key_names_line_and_key() {
    let e = err("[enforcement]\nmode = \"optional\"\ngrace = \"14d\"\n");
    assert_eq!(e.line, Some(3));
    assert_eq!(e.key.as_deref(), Some("enforcement.grace"));
    assert!(e.message.contains("unknown field `grace`"), "{e}");
}

#[test]
fn unknown_section_is_refused() {
    let e = err("[lockuot]\nmax_failures = 3\n");
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("lockuot"), "{e}");
}

#[test]
fn wrong_type_names_line_and_key() {
    let e = err("[lockout]\nmax_failures = \"five\"\n");
    assert_eq!(e.line, Some(2));
    assert_eq!(e.key.as_deref(), Some("lockout.max_failures"));
}

#[test]
fn bad_values_are_explained() {
    let cases = [
        (
            "[enforcement]\ngrace_period = \"-1d\"\n",
            "enforcement.grace_period",
            "negative",
        ),
        (
            "[enforcement]\ngrace_period = \"400d\"\n",
            "enforcement.grace_period",
            "between",
        ),
        (
            "[enforcement]\ngrace_period = \"99999w\"\n",
            "enforcement.grace_period",
            "ten years",
        ),
        (
            "[enforcement]\ngrace_period = 14\n",
            "enforcement.grace_period",
            "string",
        ),
        (
            "[enforcement]\nmode = \"sometimes\"\n",
            "enforcement.mode",
            "unknown variant",
        ),
        ("[totp]\ndigits = 7\n", "totp.digits", "6 or 8"),
        (
            "[totp]\nperiod = \"45s\"\n",
            "totp.period",
            "\"30s\" or \"60s\"",
        ),
        (
            "[totp]\nalgorithm = \"MD5\"\n",
            "totp.algorithm",
            "unknown variant",
        ),
        ("[totp]\nskew = -1\n", "totp.skew", "out of range"),
        ("[totp]\nissuer = \"a:b\"\n", "totp.issuer", "':'"),
        (
            "[sms]\ncode_length = 4\n",
            "sms.code_length",
            "between 6 and 10",
        ),
        (
            "[sms]\nallowed_prefixes = [\"44\"]\n",
            "sms.allowed_prefixes",
            "country prefix",
        ),
        ("[lockout]\nwindow = \"0s\"\n", "lockout.window", "between"),
        ("[step_up]\nsudo = \"2d\"\n", "step_up.sudo", "between"),
        (
            "[audit]\nkeep_per_user = 1\n",
            "audit.keep_per_user",
            "between",
        ),
    ];
    for (text, key, fragment) in cases {
        let e = err(text);
        assert_eq!(e.line, Some(2), "{text}: {e}");
        assert_eq!(e.key.as_deref(), Some(key), "{text}: {e}");
        assert!(e.to_string().contains(fragment), "{text}: {e}");
    }
}

#[test]
fn cross_key_rules_name_the_key() {
    let e = err("[sms]\nenabled = true\n");
    assert_eq!(e.key.as_deref(), Some("sms.allowed_prefixes"));
    let e = err("[enforcement]\nmode = \"required-for-admins\"\nadmin_groups = []\n");
    assert_eq!(e.key.as_deref(), Some("enforcement.admin_groups"));
    assert_eq!(e.line, Some(3));
    let e = err("[step_up]\n\"Sudo Now\" = \"5m\"\n");
    assert_eq!(e.key.as_deref(), Some("step_up.Sudo Now"));
    assert_eq!(e.line, Some(2));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for text in [
        "[[[",
        "mode = ",
        "\u{0}",
        "[enforcement]\nmode = \"optional\"\nmode = \"optional\"\n",
    ] {
        let e = err(text);
        assert!(!e.message.is_empty());
    }
}

#[test]
fn display_reads_well() {
    let e = err("[totp]\ndigits = 7\n");
    assert_eq!(
        e.to_string(),
        "policy line 2 key `totp.digits`: 7 digits: authenticator apps support 6 or 8"
    );
}

#[test]
fn the_built_in_step_up_actions_are_in_every_policy() {
    let p = Policy::from_toml("[step_up]\nsudo = \"5m\"\n").unwrap();
    assert_eq!(p.step_up["admin"], StepUp::any(Duration::from_secs(900)));
    assert_eq!(
        p.step_up["manage-mfa"],
        StepUp::any(Duration::from_secs(900))
    );
    assert_eq!(p.step_up["sudo"], StepUp::any(Duration::from_secs(300)));
    // A policy may set them, to any age (0s: always ask).
    let p = Policy::from_toml("[step_up]\nadmin = \"0s\"\n").unwrap();
    assert_eq!(p.step_up["admin"], StepUp::any(Duration::ZERO));
    assert_eq!(
        p.step_up["manage-mfa"],
        StepUp::any(Duration::from_secs(900))
    );
}

#[test]
fn step_up_scope_is_the_session_unless_the_policy_says_fleet() {
    assert_eq!(
        Policy::default().enforcement.step_up_scope,
        StepUpScope::Session
    );
    let p = Policy::from_toml("[enforcement]\nstep_up_scope = \"fleet\"\n").unwrap();
    assert_eq!(p.enforcement.step_up_scope, StepUpScope::Fleet);
    let e = err("[enforcement]\nstep_up_scope = \"everywhere\"\n");
    assert_eq!(e.key.as_deref(), Some("enforcement.step_up_scope"));
}

#[test]
fn the_sms_text_needs_the_code_names_its_placeholders_and_stays_one_line() {
    let p = Policy::from_toml(
        "[sms]\ntext = \"Code {code} for {issuer}, {expires}\"\norigin = \"login.example.com\"\n",
    )
    .unwrap();
    assert_eq!(p.sms.origin, "login.example.com");
    for (text, words) in [
        ("[sms]\ntext = \"Your code\"\n", "must hold {code}"),
        (
            "[sms]\ntext = \"{code} {name}\"\n",
            "{name} is not a placeholder",
        ),
        ("[sms]\ntext = \"{code}\\nsecond line\"\n", "one line"),
        (
            "[sms]\norigin = \"https://login.example.com\"\n",
            "host name",
        ),
        ("[sms]\norigin = \"Login.Example.com\"\n", "lower case"),
    ] {
        let e = err(text);
        assert!(e.message.contains(words), "{text}: {e}");
        assert_eq!(
            e.key.as_deref().map(|k| k.starts_with("sms.")),
            Some(true),
            "{e}"
        );
    }
}

#[test]
fn passkeys_need_a_relying_party_whose_origins_are_its_own() {
    let ok = Policy::from_toml(
        "[passkeys]\nenabled = true\nrp_id = \"example.com\"\norigins = [\"https://login.example.com\", \"https://example.com:8443\"]\nuser_verification = \"required\"\nallowed_aaguids = [\"cb69481e-8ff7-4039-93ec-0a2729a154a8\"]\n",
    );
    let ok = ok.unwrap();
    assert_eq!(
        ok.passkeys.user_verification,
        UserVerificationPolicy::Required
    );
    assert_eq!(Policy::from_toml(&ok.to_toml()).unwrap(), ok);
    Policy::from_toml(
        "[passkeys]\nenabled = true\nrp_id = \"localhost\"\norigins = [\"http://localhost:3000\"]\n",
    )
    .unwrap();
    let cases = [
        // Enabled without the relying party.
        ("enabled = true\n", "passkeys.rp_id", "rp_id"),
        (
            "enabled = true\nrp_id = \"example.com\"\n",
            "passkeys.origins",
            "origins",
        ),
        // A look-alike domain, a suffix that is not a subdomain.
        (
            "rp_id = \"example.com\"\norigins = [\"https://example.com.evil.test\"]\n",
            "passkeys.origins",
            "not on rp_id",
        ),
        (
            "rp_id = \"example.com\"\norigins = [\"https://badexample.com\"]\n",
            "passkeys.origins",
            "not on rp_id",
        ),
        // Plain HTTP away from localhost, a path, upper case, a bad port.
        (
            "rp_id = \"example.com\"\norigins = [\"http://login.example.com\"]\n",
            "passkeys.origins",
            "http:// only for localhost",
        ),
        (
            "rp_id = \"example.com\"\norigins = [\"https://example.com/login\"]\n",
            "passkeys.origins",
            "without a path",
        ),
        (
            "rp_id = \"example.com\"\norigins = [\"https://Example.com\"]\n",
            "passkeys.origins",
            "lower case",
        ),
        (
            "rp_id = \"example.com\"\norigins = [\"https://example.com:99999\"]\n",
            "passkeys.origins",
            "HOST:PORT",
        ),
        ("rp_id = \"Example.com\"\n", "passkeys.rp_id", "lower case"),
        (
            "allowed_aaguids = [\"CB69481E-8FF7-4039-93EC-0A2729A154A8\"]\n",
            "passkeys.allowed_aaguids",
            "lower-case hex",
        ),
        ("timeout = \"20m\"\n", "passkeys.timeout", "between"),
        (
            "user_verification = \"always\"\n",
            "passkeys.user_verification",
            "unknown variant",
        ),
    ];
    for (body, key, says) in cases {
        let e = err(&format!("[passkeys]\n{body}"));
        assert!(
            e.key.as_deref() == Some(key) && e.message.contains(says),
            "{body:?}: {e}"
        );
    }
}

#[test]
fn a_step_up_action_may_require_a_phishing_resistant_factor() {
    let p = Policy::from_toml(
        "[step_up]\nsudo = { max_age = \"5m\", require = \"phishing-resistant\" }\nexport = \"2m\"\n",
    )
    .unwrap();
    assert_eq!(
        p.step_up["sudo"],
        StepUp {
            max_age: Duration::from_secs(300),
            require: Require::PhishingResistant
        }
    );
    assert_eq!(p.step_up["export"], StepUp::any(Duration::from_secs(120)));
    assert_eq!(Policy::from_toml(&p.to_toml()).unwrap(), p);
    for (body, says) in [
        (
            "sudo = { require = \"phishing-resistant\" }",
            "max_age is missing",
        ),
        (
            "sudo = { max_age = \"5m\", require = \"strong\" }",
            "unknown variant",
        ),
        (
            "sudo = { max_age = \"5m\", when = \"always\" }",
            "unknown key `when`",
        ),
        ("sudo = { max_age = \"2d\" }", "between"),
        ("sudo = 5", "a duration like"),
    ] {
        let e = err(&format!("[step_up]\n{body}\n"));
        assert!(e.line == Some(2) && e.message.contains(says), "{body}: {e}");
    }
}
