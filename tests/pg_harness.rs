//! The PostgreSQL test harness itself: a real server from the installed binaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::pg::PgServer;

#[test]
fn a_throwaway_server_answers_and_gives_fresh_databases() {
    let server = PgServer::get();
    let first = server.fresh_database();
    let second = server.fresh_database();
    assert_ne!(first, second);
    let mut client = postgres::Client::connect(&first, postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .unwrap();
    client
        .execute("INSERT INTO t VALUES ($1)", &[&7i32])
        .unwrap();
    let row = client.query_one("SELECT count(*) FROM t", &[]).unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    let mut other = postgres::Client::connect(&second, postgres::NoTls).unwrap();
    let tables = other
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename = 't'", &[])
        .unwrap();
    assert_eq!(
        tables.get::<_, i64>(0),
        0,
        "each test gets an empty database"
    );
}
