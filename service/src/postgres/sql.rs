//! The fleet store's SQL, compiled in from `service/store.sql` by
//! `build.rs`: the schema, its version and every statement, the same text
//! the identity provider runs (`idp/src/mfa/sql.mjs` reads that file).
//! The `THROTTLE_*` statements are the provider's alone (its password
//! throttle); the hosts only create their table.
#![allow(dead_code)]

include!(concat!(env!("OUT_DIR"), "/store_sql.rs"));
