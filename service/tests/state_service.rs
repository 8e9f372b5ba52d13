//! The state service (`planasonix serve`'s engine room): transactions go
//! through it when it listens, fall back to the files when it does not, and
//! no client can break it for the others.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::store::{Cas, IoKind, Store, StoreError, Swap};
use planasonix_native::{socket_beside, transaction, RemoteStore, SledStore, Trust};
use planasonix_service::StoreService;
use planasonix_testkit::TempDir;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

/// Starts a service on a fresh database in its own thread; it serves until
/// the test process ends. The directory goes when the returned guard drops.
fn serve(tag: &str) -> (TempDir, PathBuf) {
    let scratch = TempDir::new(tag);
    let db = scratch.join("db");
    let service = StoreService::start(&db, WAIT).unwrap();
    std::thread::spawn(move || service.run(|_| {}));
    (scratch, db)
}

fn raw_exchange(socket: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer
}

#[test]
fn transactions_go_through_a_running_service() {
    let (_dir, db) = serve("svc-through");
    // The service holds the database: opening it directly is refused...
    assert_eq!(
        SledStore::open(&db).unwrap_err(),
        StoreError::Busy,
        "the service keeps sled's lock"
    );
    // ...yet transactions work, because they reach it over the socket.
    let swapped = transaction(&db, WAIT, |store| {
        store.compare_and_swap("user/alice", None, Some(b"sealed"))
    })
    .unwrap();
    assert_eq!(swapped, Cas::Swapped(1));
    let read = transaction(&db, WAIT, |store| store.get("user/alice")).unwrap();
    assert_eq!(read.unwrap().value, b"sealed");

    let mode = std::fs::metadata(socket_beside(&db))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner may connect");
}

#[test]
fn parallel_transactions_on_one_record_never_lose_an_update() {
    let (_dir, db) = serve("svc-parallel");
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    transaction(&db, WAIT, |store| loop {
                        let current = store.get("counter")?;
                        let (version, n) = match current {
                            Some(v) => (
                                Some(v.version),
                                u64::from_le_bytes(v.value.try_into().unwrap()),
                            ),
                            None => (None, 0),
                        };
                        let next = (n + 1).to_le_bytes();
                        if let Cas::Swapped(_) =
                            store.compare_and_swap("counter", version, Some(&next))?
                        {
                            return Ok::<(), StoreError>(());
                        }
                    })
                    .unwrap();
                }
            });
        }
    });
    let v = transaction(&db, WAIT, |store| store.get("counter"))
        .unwrap()
        .unwrap();
    assert_eq!(u64::from_le_bytes(v.value.try_into().unwrap()), 200);
}

#[test]
fn a_socket_left_by_a_stopped_service_falls_back_to_the_files() {
    let scratch = TempDir::new("svc-stale");
    let db = scratch.join("db");
    // A listener bound and dropped leaves a socket file nobody answers on.
    drop(UnixListener::bind(socket_beside(&db)).unwrap());
    assert!(socket_beside(&db).exists());
    transaction(&db, WAIT, |store| {
        store.compare_and_swap("k", None, Some(b"v"))
    })
    .unwrap();
    // The write went to the files directly.
    let direct = SledStore::open(&db).unwrap();
    assert_eq!(direct.get("k").unwrap().unwrap().value, b"v");
    drop(direct);
    // And a service started now replaces the stale socket and serves the same data.
    let service = StoreService::start(&db, WAIT).unwrap();
    std::thread::spawn(move || service.run(|_| {}));
    let v = transaction(&db, WAIT, |store| store.get("k")).unwrap();
    assert_eq!(v.unwrap().value, b"v");
}

#[test]
fn garbage_gets_a_named_error_and_the_service_keeps_serving() {
    let scratch = TempDir::new("svc-garbage");
    let db = scratch.join("db");
    let service = StoreService::start(&db, WAIT).unwrap();
    let socket = service.socket().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        service.run(move |e| {
            let _ = tx.send(e);
        })
    });

    // A well-framed body in no known format.
    let answer = raw_exchange(&socket, &[3, 0, 0, 0, 9, 9, 9]);
    assert!(
        String::from_utf8_lossy(&answer).contains("protocol version 9"),
        "{answer:?}"
    );
    assert!(rx.recv_timeout(WAIT).unwrap().contains("malformed request"));
    // A frame claiming 4 GiB: refused before anything is allocated.
    let answer = raw_exchange(&socket, &[0xff, 0xff, 0xff, 0xff]);
    assert!(
        String::from_utf8_lossy(&answer).contains("limit"),
        "{answer:?}"
    );
    assert!(rx
        .recv_timeout(WAIT)
        .unwrap()
        .contains("unreadable request"));
    // Non-UTF-8 key.
    let answer = raw_exchange(&socket, &[8, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0xff, 0xfe]);
    assert!(
        String::from_utf8_lossy(&answer).contains("UTF-8"),
        "{answer:?}"
    );

    // A client that hangs up mid-frame does not take the service with it.
    {
        let mut s = UnixStream::connect(&socket).unwrap();
        s.write_all(&[100, 0, 0, 0, 1]).unwrap();
    }
    transaction(&db, WAIT, |store| {
        store.compare_and_swap("still", None, Some(b"ok"))
    })
    .unwrap();
    let v = transaction(&db, WAIT, |store| store.get("still")).unwrap();
    assert_eq!(v.unwrap().value, b"ok");
}

#[test]
fn a_silent_service_times_out_with_a_named_error_and_the_connection_is_not_reused() {
    let dir = TempDir::new("svc-silent");
    let socket = dir.join("db.sock");
    // Accepts, then never answers.
    let listener = UnixListener::bind(&socket).unwrap();
    let held = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let trust = Trust::of(&dir.join("db")).unwrap();
    let remote = RemoteStore::connect(&socket, Duration::from_millis(200), &trust)
        .unwrap()
        .unwrap();
    let e = remote.get("k").unwrap_err();
    assert!(
        matches!(&e, StoreError::Io(f) if f.kind == IoKind::Unreachable && f.detail.contains("no answer within 200 ms") && f.detail.contains("db.sock")),
        "{e:?}"
    );
    let again = remote.get("k").unwrap_err();
    assert!(
        matches!(&again, StoreError::Io(f) if f.detail.contains("earlier call on this connection failed")),
        "{again:?}"
    );
    drop(held);
}

#[test]
fn the_service_refuses_clients_that_are_neither_root_nor_its_own_user() {
    let (_dir, db) = serve("svc-strangers");
    let socket = socket_beside(&db);
    // Whatever the socket's mode says (here: anyone may connect).
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    // A Get of user/x as another uid: frame = u32 length, version 1, op 1, key.
    let client = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
key = b"user/x"
body = bytes([1, 1]) + len(key).to_bytes(4, "little") + key
s.sendall(len(body).to_bytes(4, "little") + body)
data = b""
while len(data) < 5:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data[4] if len(data) > 4 else -1)
"#;
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "nobody", "--regid", "nogroup", "--clear-groups"])
        .args(["/usr/bin/python3", "-c", client])
        .arg(&socket)
        .output()
        .expect("setpriv (util-linux) and Debian's python3 are required");
    let tag = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        tag,
        "20",
        "a client running as nobody was not refused (response tag {tag}; 20 is Untrusted): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Root is still served.
    let read = transaction(&db, WAIT, |store| store.get("user/x")).unwrap();
    assert!(read.is_none());
}

/// A listener at `<db>.sock` answering like a service that holds no records
/// (a get finds nothing, a swap conflicts, a commit is acknowledged); its
/// thread returns the operation byte of every request of the one connection
/// it serves.
fn recording_service(db: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let socket = socket_beside(db);
    let listener = UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut ops = Vec::new();
        let mut len = [0u8; 4];
        while s.read_exact(&mut len).is_ok() {
            let mut body = vec![0; u32::from_le_bytes(len) as usize];
            s.read_exact(&mut body).unwrap();
            // Version, then the operation: get 1, swap 2, commit 4.
            ops.push(body[1]);
            let answer: &[u8] = match body[1] {
                1 => &[0],
                2 => &[2],
                4 => &[5],
                other => panic!("unexpected operation {other}"),
            };
            s.write_all(&(answer.len() as u32).to_le_bytes()).unwrap();
            s.write_all(answer).unwrap();
        }
        ops
    })
}

#[test]
fn a_transaction_that_only_reads_sends_no_commit_and_one_that_wrote_does() {
    let dir = TempDir::new("svc-commit");
    let db = dir.join("db");
    let service = recording_service(&db);
    let read = transaction(&db, WAIT, |store| store.get("user/alice")).unwrap();
    assert_eq!(read, None);
    assert_eq!(
        service.join().unwrap(),
        [1],
        "a read-only transaction costs one round trip, its get"
    );

    std::fs::remove_file(socket_beside(&db)).unwrap();
    let service = recording_service(&db);
    // A refused swap is still a write sent: it may have been made.
    let swapped = transaction(&db, WAIT, |store| {
        store.get("user/alice")?;
        store.compare_and_swap("user/alice", Some(3), Some(b"sealed"))
    })
    .unwrap();
    assert_eq!(swapped, Cas::Conflict);
    assert_eq!(service.join().unwrap(), [1, 2, 4], "get, swap, then commit");
}

#[test]
fn clients_holding_their_connections_open_keep_no_one_else_out() {
    let (_dir, db) = serve("svc-held");
    let socket = socket_beside(&db);
    // Each connected and then silent: each holds its own thread.
    let held: Vec<UnixStream> = (0..8)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();
    for i in 0..8 {
        let key = format!("user/u{i}");
        let swapped = transaction(&db, WAIT, |store| {
            store.compare_and_swap(&key, None, Some(b"sealed"))
        })
        .unwrap();
        assert_eq!(swapped, Cas::Swapped(1), "{key}");
    }
    drop(held);
}

/// A listener at `<db>.sock` in front of the service at `real`: it forwards
/// every request, except that as `Release::Previous` it answers
/// swap-and-add (operation 5) the way the release before it did: with its
/// refusal, then hanging up. Its thread returns, for each of the
/// `connections` it serves in turn, the operation byte of every request.
fn front(
    db: &Path,
    real: PathBuf,
    release: Release,
    connections: usize,
) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    let socket = socket_beside(db);
    let listener = UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::thread::spawn(move || {
        let mut log = Vec::new();
        for _ in 0..connections {
            let (mut client, _) = listener.accept().unwrap();
            let mut upstream = UnixStream::connect(&real).unwrap();
            let mut ops = Vec::new();
            let mut len = [0u8; 4];
            while client.read_exact(&mut len).is_ok() {
                let mut body = vec![0; u32::from_le_bytes(len) as usize];
                client.read_exact(&mut body).unwrap();
                ops.push(body[1]);
                if body[1] == 5 && release == Release::Previous {
                    let why = b"malformed request: unknown operation 5";
                    // An I/O failure of kind Unreachable, with its detail.
                    let mut answer = vec![22, 5];
                    answer.extend_from_slice(&(why.len() as u32).to_le_bytes());
                    answer.extend_from_slice(why);
                    client
                        .write_all(&(answer.len() as u32).to_le_bytes())
                        .unwrap();
                    client.write_all(&answer).unwrap();
                    break;
                }
                upstream.write_all(&len).unwrap();
                upstream.write_all(&body).unwrap();
                upstream.read_exact(&mut len).unwrap();
                let mut answer = vec![0; u32::from_le_bytes(len) as usize];
                upstream.read_exact(&mut answer).unwrap();
                client.write_all(&len).unwrap();
                client.write_all(&answer).unwrap();
            }
            log.push(ops);
        }
        log
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Release {
    This,
    Previous,
}

const EVENT: &str = "audit/alice/0000000000000001";

/// Through the service at `<front>.sock`: alice's record created, then
/// swapped with one audit event, which both reach the database at `db`.
fn record_then_swap_with_an_event(front: &Path, db: &Path) {
    let add = [(EVENT.to_owned(), b"event".to_vec())];
    let swapped = transaction(front, WAIT, |store| {
        store.compare_and_swap("user/alice", None, Some(b"v1"))?;
        store.swap_and_add("user/alice", Some(1), b"v2", &add)
    })
    .unwrap();
    assert_eq!(
        swapped,
        Swap::Swapped {
            version: 2,
            present: Ok(Vec::new())
        }
    );
    assert_eq!(record_and_event(db), (b"v2".to_vec(), b"event".to_vec()));
}

fn record_and_event(db: &Path) -> (Vec<u8>, Vec<u8>) {
    transaction(db, WAIT, |s| {
        Ok::<_, StoreError>((
            s.get("user/alice")?.unwrap().value,
            s.get(EVENT)?.unwrap().value,
        ))
    })
    .unwrap()
}

#[test]
fn a_record_and_its_audit_events_travel_in_one_request() {
    let (_dir, db) = serve("svc-swap-add");
    let scratch = TempDir::new("svc-swap-add-front");
    let at = scratch.join("db");
    let seen = front(&at, socket_beside(&db), Release::This, 1);
    record_then_swap_with_an_event(&at, &db);
    assert_eq!(
        seen.join().unwrap(),
        [vec![2, 5, 4]],
        "swap, swap-and-add, commit"
    );
}

#[test]
fn a_service_of_the_previous_release_gets_the_record_and_its_events_one_by_one() {
    let (_dir, db) = serve("svc-older");
    let scratch = TempDir::new("svc-older-front");
    let at = scratch.join("db");
    let seen = front(&at, socket_beside(&db), Release::Previous, 2);
    record_then_swap_with_an_event(&at, &db);
    assert_eq!(
        seen.join().unwrap(),
        [vec![2, 5], vec![2, 2, 4]],
        "refused, then on a new connection: the record, the event, the commit"
    );
}

/// The service answers core's store contract, as a client sees it.
#[test]
fn meets_the_store_contract_through_the_service() {
    let dir = planasonix_testkit::TempDir::new("remote-contract");
    let db = dir.join("db");
    let service = StoreService::start(&db, Duration::from_secs(5)).unwrap();
    std::thread::spawn(move || service.run(|_| {}));
    let trust = Trust::of(&db).unwrap();
    let remote = RemoteStore::connect(&socket_beside(&db), Duration::from_secs(5), &trust)
        .unwrap()
        .unwrap();
    planasonix_testkit::check_store(&remote);
    remote.commit().unwrap();
}
