//! One HTTP request per message to a gateway: the generic webhook of the
//! delivery file, and Twilio's Messages API expressed as one. TLS verifies
//! the gateway against the system's CAs (or only `ca_file`); redirects are
//! not followed (a token never goes anywhere else); a message is sent again
//! only when the gateway answered that it did not take it (429, 5xx) or
//! nothing answered the connection, never after a timeout, when it may have
//! gone out.

use super::template::{percent, verbatim, Template, Values};
use super::{GatewayError, Sent};
use planasonix_native::secret_file::read_secret_line;
use planasonix_native::trusted_file::{read_trusted, Kind};
use std::path::PathBuf;
use std::time::Duration;
use zeroize::Zeroizing;

/// Longest answer read from a gateway.
const MAX_ANSWER: u64 = 64 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFormat {
    None,
    Json,
    Form,
}

#[derive(Clone, Debug)]
pub(crate) enum Auth {
    None,
    Basic {
        user: String,
        password_file: PathBuf,
    },
    Bearer {
        token_file: PathBuf,
    },
    Header {
        name: String,
        value_file: PathBuf,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Signature {
    pub(crate) header: String,
    pub(crate) key_file: PathBuf,
}

/// A gateway reached over HTTP.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub(crate) name: &'static str,
    pub(crate) method: Method,
    pub(crate) url: Template,
    pub(crate) format: BodyFormat,
    pub(crate) body: Vec<(String, Template)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) auth: Auth,
    pub(crate) signature: Option<Signature>,
    pub(crate) success: Option<String>,
    pub(crate) message_id: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) ca_file: Option<PathBuf>,
}

/// A request as it will go out (wiped on drop: the body holds the code);
/// `shown` is the same with every secret masked, when asked for
/// (`planasonix deliver test`).
pub(crate) struct Prepared {
    url: String,
    headers: Vec<(String, Zeroizing<String>)>,
    body: Option<Zeroizing<Vec<u8>>>,
    pub(crate) shown: Option<String>,
}

impl Webhook {
    /// The gateway's name in messages: `webhook` or `Twilio`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Builds the request for one message.
    pub(crate) fn prepare(
        &self,
        values: &Values<'_>,
        show: bool,
    ) -> Result<Prepared, GatewayError> {
        let url = self.url.fill(values, percent);
        let body = match self.format {
            BodyFormat::None => None,
            BodyFormat::Json => {
                let map: serde_json::Map<String, serde_json::Value> = self
                    .body
                    .iter()
                    .map(|(k, t)| {
                        (
                            k.clone(),
                            serde_json::Value::String(t.fill(values, verbatim)),
                        )
                    })
                    .collect();
                Some(Zeroizing::new(
                    serde_json::to_vec(&map).map_err(|e| GatewayError::Config(e.to_string()))?,
                ))
            }
            BodyFormat::Form => Some(Zeroizing::new(
                self.body
                    .iter()
                    .map(|(k, t)| format!("{}={}", percent(k), percent(&t.fill(values, verbatim))))
                    .collect::<Vec<_>>()
                    .join("&")
                    .into_bytes(),
            )),
        };
        let mut headers: Vec<(String, Zeroizing<String>)> = Vec::new();
        let mut shown_headers = Vec::new();
        let mut add = |name: &str, value: Zeroizing<String>, secret: bool| {
            shown_headers.push(format!(
                "{name}: {}",
                if secret {
                    "••••••••".to_owned()
                } else {
                    value.to_string()
                }
            ));
            headers.push((name.to_owned(), value));
        };
        match self.format {
            BodyFormat::Json => add("Content-Type", "application/json".to_owned().into(), false),
            BodyFormat::Form => add(
                "Content-Type",
                "application/x-www-form-urlencoded".to_owned().into(),
                false,
            ),
            BodyFormat::None => {}
        }
        for (name, value) in &self.headers {
            add(name, value.clone().into(), false);
        }
        let secret = |path: &PathBuf, what: &'static str| {
            read_secret_line(path, what).map_err(|e| GatewayError::Config(e.to_string()))
        };
        match &self.auth {
            Auth::None => {}
            Auth::Basic {
                user,
                password_file,
            } => {
                let password = secret(password_file, "the gateway's password")?;
                let pair = Zeroizing::new(format!("{user}:{}", password.as_str()));
                let encoded = data_encoding::BASE64.encode(pair.as_bytes());
                add("Authorization", format!("Basic {encoded}").into(), true);
            }
            Auth::Bearer { token_file } => {
                let token = secret(token_file, "the gateway's token")?;
                add(
                    "Authorization",
                    format!("Bearer {}", token.as_str()).into(),
                    true,
                );
            }
            Auth::Header { name, value_file } => {
                let value = secret(value_file, "the gateway's key")?;
                add(name, value, true);
            }
        }
        if let (Some(sig), Some(body)) = (&self.signature, &body) {
            let key = secret(&sig.key_file, "the signing key")?;
            let mac = ring::hmac::sign(
                &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes()),
                body.as_slice(),
            );
            let hex: String = mac.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            add(&sig.header, format!("sha256={hex}").into(), false);
        }
        let method = match self.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        };
        let shown = show.then(|| {
            format!(
                "{method} {url}\n{}\n\n{}",
                shown_headers.join("\n"),
                body.as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default()
            )
        });
        Ok(Prepared {
            url,
            headers,
            body,
            shown,
        })
    }

    /// The longest a send may take: each try at the timeout, and the waits
    /// between them (300 ms, 600 ms, …).
    pub(crate) fn longest(&self) -> Duration {
        let tries = self.retries + 1;
        let waits: u64 = (1..tries).map(|n| 300 * u64::from(n)).sum();
        self.timeout * tries + Duration::from_millis(waits)
    }

    /// Sends one prepared request, again while the gateway says it did not
    /// take it.
    pub(crate) fn send(&self, request: &Prepared) -> Result<Sent, GatewayError> {
        let agent = self.agent()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.once(&agent, request);
            let retry = match &outcome {
                Ok((status, _)) => *status == 429 || *status >= 500,
                Err(Failure::NotConnected(_)) => true,
                Err(_) => false,
            };
            if retry && attempt <= self.retries {
                std::thread::sleep(Duration::from_millis(300 * u64::from(attempt)));
                continue;
            }
            return match outcome {
                Ok((status, body)) => self.judge(status, &body, attempt),
                Err(Failure::NotConnected(why)) => Err(GatewayError::NotSent(why)),
                Err(Failure::Other(why)) => Err(GatewayError::Unavailable(why)),
                Err(Failure::TimedOut) => Err(GatewayError::Unavailable(format!(
                    "no answer within {} s (the message may have gone out; not sent again)",
                    self.timeout.as_secs_f32()
                ))),
            };
        }
    }

    fn judge(&self, status: u16, body: &str, attempts: u32) -> Result<Sent, GatewayError> {
        if !(200..300).contains(&status) {
            return Err(if status == 429 || status >= 500 {
                GatewayError::NotSent(format!("the gateway answered HTTP {status}"))
            } else {
                GatewayError::Refused(format!("the gateway answered HTTP {status}"))
            });
        }
        if let Some(pattern) = &self.success {
            if !body.contains(pattern.as_str()) {
                return Err(GatewayError::Refused(format!(
                    "the gateway answered HTTP {status} without {pattern:?}"
                )));
            }
        }
        let message_id = self.message_id.as_deref().and_then(|pointer| {
            serde_json::from_str::<serde_json::Value>(body)
                .ok()?
                .pointer(pointer)
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        });
        Ok(Sent {
            status,
            message_id,
            attempts,
        })
    }

    fn agent(&self) -> Result<ureq::Agent, GatewayError> {
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let mut tls = TlsConfig::builder();
        if let Some(ca) = &self.ca_file {
            // Whoever can write the CA file can put their own server in the
            // gateway's place: a trusted setting, like the delivery file.
            let pem = read_trusted(ca, Kind::Setting, "CA file", 1 << 20)
                .map_err(|e| GatewayError::Config(e.to_string()))?;
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(GatewayError::Config(format!(
                    "ca_file {} holds no certificate (PEM)",
                    ca.display()
                )));
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .max_redirects(0)
            .max_redirects_will_error(false)
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(concat!("planasonix/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        Ok(config.into())
    }

    fn once(&self, agent: &ureq::Agent, r: &Prepared) -> Result<(u16, String), Failure> {
        let response = match (self.method, &r.body) {
            (Method::Get, _) | (_, None) => {
                let mut req = agent.get(&r.url);
                for (k, v) in &r.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.call()
            }
            (Method::Post, Some(body)) => {
                let mut req = agent.post(&r.url);
                for (k, v) in &r.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.send(body.as_slice())
            }
            (Method::Put, Some(body)) => {
                let mut req = agent.put(&r.url);
                for (k, v) in &r.headers {
                    req = req.header(k.as_str(), v.as_str());
                }
                req.send(body.as_slice())
            }
        };
        let mut response = response.map_err(failure)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .unwrap_or_default();
        Ok((status, body))
    }
}

/// Why a request got no answer.
enum Failure {
    /// The connection was never made, or TLS failed: nothing was sent.
    NotConnected(String),
    /// The deadline passed: the message may have gone out.
    TimedOut,
    /// TLS, a broken answer, anything else.
    Other(String),
}

fn failure(e: ureq::Error) -> Failure {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Timeout(_) => Failure::TimedOut,
        ureq::Error::HostNotFound => {
            Failure::NotConnected("the gateway's name does not resolve".into())
        }
        ureq::Error::ConnectionFailed => {
            Failure::NotConnected("the gateway refused the connection".into())
        }
        ureq::Error::Io(io) if matches!(io.kind(), ErrorKind::ConnectionRefused) => {
            Failure::NotConnected("the gateway refused the connection".into())
        }
        ureq::Error::Io(io) if matches!(io.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            Failure::TimedOut
        }
        // rustls reports a refused certificate or handshake as an I/O error;
        // a handshake that failed sent no request.
        ureq::Error::Io(io)
            if ["certificate", "handshake", "TLS", "tls"]
                .iter()
                .any(|w| io.to_string().contains(w)) =>
        {
            Failure::NotConnected(format!("TLS: {io}"))
        }
        ureq::Error::Rustls(tls) => Failure::NotConnected(format!("TLS: {tls}")),
        ureq::Error::Tls(tls) => Failure::NotConnected(format!("TLS: {tls}")),
        other => Failure::Other(other.to_string()),
    }
}
