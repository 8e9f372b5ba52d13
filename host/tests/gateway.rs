//! The identity provider's SMS through the delivery file's gateway: the
//! component under the reference host with `GatewayDelivery`, a fake gateway
//! on loopback receiving the enrollment code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_host::*;
use planasonix_testkit::gateway::{FakeGateway, Reply};
use planasonix_testkit::TempDir;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

const POLICY: &str =
    "[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\nresend_interval = \"0s\"\n";
const T0: u64 = 1_800_000_000;

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned()
}

#[test]
fn the_identity_provider_texts_through_the_delivery_files_gateway() {
    let gateway = FakeGateway::http();
    let dir = TempDir::new("host-gateway");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.join("delivery.toml");
    std::fs::write(
        &file,
        format!(
            "[sms]\nkind = \"webhook\"\nurl = \"{}/sms\"\nformat = \"form\"\nbody = {{ to = \"{{to}}\", code = \"{{code}}\" }}\nretries = 0\n",
            gateway.url()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let delivery = Arc::new(GatewayDelivery::from_file(&file).unwrap());
    let host = PluginHost::new(
        HostConfig {
            wasm: std::fs::read(plugin_wasm()).unwrap(),
            cache_dir: None,
            policy_toml: POLICY.into(),
            seal_key: zeroize::Zeroizing::new(KEY.to_vec()),
            limits: Limits::default(),
            max_instances: 2,
        },
        Arc::new(planasonix_core::MemoryStore::new()),
        delivery,
    )
    .unwrap();
    let mut s = host.session().unwrap();
    let masked = s.begin_sms("ida", "+447700900123", T0).unwrap().unwrap();
    assert_eq!(masked, "+44••••••••23");
    let r = gateway.received().pop().unwrap();
    let fields: Vec<String> = r.text().split('&').map(str::to_owned).collect();
    assert!(
        fields.contains(&"to=%2B447700900123".to_owned()),
        "{fields:?}"
    );
    let code = code_in(&r.text());
    let codes = s.confirm_sms("ida", code.as_bytes(), T0).unwrap().unwrap();
    assert_eq!(codes.len(), 10);
    // The gateway refuses: the component reports it without the number.
    gateway.script([Reply::Answer(
        400,
        "{\"error\":\"+447700900123 blocked\"}".into(),
    )]);
    let e = s
        .send_sms_code("ida", &ctx(), T0 + 60)
        .unwrap()
        .unwrap_err();
    match e {
        PluginError::SmsDeliveryFailed(why) => {
            assert!(
                why.contains("HTTP 400") && !why.contains("+447700900123"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
}
