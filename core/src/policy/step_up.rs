//! `[step_up]` entries: how recent a second factor a sensitive action
//! accepts, and which kind. Written `sudo = "5m"` (any factor), or
//! `sudo = { max_age = "5m", require = "phishing-resistant" }` (a passkey,
//! which a look-alike site cannot relay).

use super::de;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// Which second factors a step-up action accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Require {
    /// Any factor the user has.
    #[default]
    Any,
    /// Only a passkey: app, SMS and recovery codes can be phished.
    PhishingResistant,
}

/// What a step-up action demands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepUp {
    /// The oldest second factor it accepts (0s to 1d).
    pub max_age: Duration,
    /// Which kind.
    pub require: Require,
}

impl StepUp {
    /// An action that accepts any factor up to `max_age` old.
    pub const fn any(max_age: Duration) -> StepUp {
        StepUp {
            max_age,
            require: Require::Any,
        }
    }
}

/// The longest `max_age`, in seconds.
const MAX_AGE_LIMIT: u64 = 86_400;

fn age<E: serde::de::Error>(text: &str) -> Result<Duration, E> {
    de::duration_in::<serde::de::value::StrDeserializer<'_, E>, 0, MAX_AGE_LIMIT>(
        serde::de::IntoDeserializer::into_deserializer(text),
    )
}

impl<'de> Deserialize<'de> for StepUp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StepUp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"5m\", or { max_age = \"5m\", require = \"phishing-resistant\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StepUp, E> {
                age(v).map(StepUp::any)
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<StepUp, M::Error> {
                let (mut max_age, mut require) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "max_age" if max_age.is_none() => {
                            max_age = Some(age(&map.next_value::<String>()?)?)
                        }
                        "require" if require.is_none() => require = Some(map.next_value()?),
                        "max_age" | "require" => {
                            return Err(M::Error::custom(format!("`{key}` is given twice")))
                        }
                        other => {
                            return Err(M::Error::custom(format!(
                                "unknown key `{other}`: a step-up action has max_age and require"
                            )))
                        }
                    }
                }
                Ok(StepUp {
                    max_age: max_age.ok_or_else(|| M::Error::custom("max_age is missing"))?,
                    require: require.unwrap_or_default(),
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for StepUp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Table {
            #[serde(serialize_with = "de::duration_text")]
            max_age: Duration,
            require: Require,
        }
        match self.require {
            Require::Any => de::duration_text(&self.max_age, s),
            Require::PhishingResistant => Table {
                max_age: self.max_age,
                require: self.require,
            }
            .serialize(s),
        }
    }
}
