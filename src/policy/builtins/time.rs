//! Time functions. Times are instants in UTC; a zone argument (an IANA name such as
//! "Europe/Paris", or a fixed offset such as "+02:00") says on which clock to read them.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, Offset, Timelike, Utc};

use super::{Host, arg, str_arg};
use crate::policy::types::parse_time;
use crate::policy::value::Value;

fn time_arg(args: &[Value]) -> Result<DateTime<Utc>, String> {
    match arg(args, 0)? {
        Value::Time(t) => Ok(*t),
        other => Err(format!(
            "expected a time (such as `now`), got {} `{other}`",
            other.type_name()
        )),
    }
}

/// The offset from UTC of `zone` at `time`: UTC, an IANA name (from the copy of the time zone
/// database built into Enact, so that a policy reads the same clock on every machine) or a
/// fixed offset such as "+02:00".
fn offset_at(zone: &str, time: &DateTime<Utc>) -> Result<FixedOffset, String> {
    if zone.eq_ignore_ascii_case("utc") || zone == "Z" {
        return Ok(Utc.fix());
    }
    if let Ok(tz) = jiff::tz::db().get(zone) {
        let instant = jiff::Timestamp::new(time.timestamp(), 0)
            .map_err(|e| format!("{time} is outside the time zone database's range: {e}"))?;
        let seconds = tz.to_offset(instant).seconds();
        return FixedOffset::east_opt(seconds)
            .ok_or_else(|| format!("time zone offset of {seconds} s is out of range"));
    }
    zone.parse::<FixedOffset>().map_err(|_| {
        format!("unknown time zone `{zone}` (use an IANA name such as \"Europe/Paris\", or an offset such as \"+02:00\")")
    })
}

/// The wall-clock reading of the time (argument 0) in the zone at `zone_index`, UTC if absent.
fn local(args: &[Value], zone_index: usize) -> Result<NaiveDateTime, String> {
    let time = time_arg(args)?;
    let offset = match args.get(zone_index) {
        None | Some(Value::Null) => return Ok(time.naive_utc()),
        Some(_) => offset_at(str_arg(args, zone_index, "the zone")?, &time)?,
    };
    Ok(time.with_timezone(&offset).naive_local())
}

pub fn parse(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    parse_time(str_arg(args, 0, "time's argument")?).map(Value::Time)
}

pub fn hour(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(i64::from(local(args, 1)?.hour())))
}

pub fn minute(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::Int(i64::from(local(args, 1)?.minute())))
}

pub fn weekday(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let day = match local(args, 1)?.weekday() {
        chrono::Weekday::Mon => "monday",
        chrono::Weekday::Tue => "tuesday",
        chrono::Weekday::Wed => "wednesday",
        chrono::Weekday::Thu => "thursday",
        chrono::Weekday::Fri => "friday",
        chrono::Weekday::Sat => "saturday",
        chrono::Weekday::Sun => "sunday",
    };
    Ok(Value::str(day))
}

pub fn date(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::str(local(args, 1)?.format("%Y-%m-%d").to_string()))
}

pub fn time_of_day(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::TimeOfDay(
        local(args, 1)?.num_seconds_from_midnight(),
    ))
}

fn tod_arg(args: &[Value], index: usize, what: &str) -> Result<u32, String> {
    match arg(args, index)? {
        Value::TimeOfDay(s) => Ok(*s),
        other => Err(format!(
            "{what} must be a time of day such as 22:00, got {} `{other}`",
            other.type_name()
        )),
    }
}

pub fn between(_: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let now = local(args, 3)?.num_seconds_from_midnight();
    let start = tod_arg(args, 1, "between's start")?;
    let end = tod_arg(args, 2, "between's end")?;
    let inside = match start.cmp(&end) {
        std::cmp::Ordering::Equal => false,
        std::cmp::Ordering::Less => start <= now && now < end,
        std::cmp::Ordering::Greater => now >= start || now < end,
    };
    Ok(Value::Bool(inside))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Host<'static> = Host {
        workspace: "/w",
        home: "/h",
    };

    fn at(text: &str) -> Value {
        parse(&HOST, &[text.into()]).unwrap()
    }

    #[test]
    fn clock_readings_in_utc_and_zones() {
        let t = at("2026-03-29T00:30:00Z");
        assert_eq!(
            hour(&HOST, std::slice::from_ref(&t)).unwrap(),
            Value::Int(0)
        );
        // Paris switches to summer time that night: 00:30 UTC is 01:30 there, 02:30 an hour later.
        assert_eq!(
            hour(&HOST, &[t.clone(), "Europe/Paris".into()]).unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            hour(&HOST, &[at("2026-03-29T01:30:00Z"), "Europe/Paris".into()]).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            hour(&HOST, &[t.clone(), "-05:00".into()]).unwrap(),
            Value::Int(19)
        );
        assert_eq!(
            weekday(&HOST, std::slice::from_ref(&t)).unwrap(),
            Value::str("sunday")
        );
        assert_eq!(
            date(&HOST, &[t.clone(), "-05:00".into()]).unwrap(),
            Value::str("2026-03-28")
        );
        // A half-hour zone, and New York's summer time (UTC-4) against its winter time (UTC-5).
        assert_eq!(
            minute(&HOST, &[t.clone(), "Asia/Kolkata".into()]).unwrap(),
            Value::Int(0)
        );
        assert_eq!(
            hour(&HOST, &[t.clone(), "Asia/Kolkata".into()]).unwrap(),
            Value::Int(6)
        );
        assert_eq!(
            hour(
                &HOST,
                &[at("2026-07-01T12:00:00Z"), "America/New_York".into()]
            )
            .unwrap(),
            Value::Int(8)
        );
        assert_eq!(
            hour(
                &HOST,
                &[at("2026-01-01T12:00:00Z"), "America/New_York".into()]
            )
            .unwrap(),
            Value::Int(7)
        );
        assert_eq!(
            hour(&HOST, &[t.clone(), "UTC".into()]).unwrap(),
            Value::Int(0)
        );
        assert!(
            hour(&HOST, &[t, "Mars/Olympus".into()])
                .unwrap_err()
                .contains("unknown time zone")
        );
    }

    #[test]
    fn between_crosses_midnight_and_is_half_open() {
        let check = |time: &str, start: u32, end: u32| {
            between(
                &HOST,
                &[
                    at(time),
                    Value::TimeOfDay(start * 3600),
                    Value::TimeOfDay(end * 3600),
                ],
            )
            .unwrap()
            .as_bool()
            .unwrap()
        };
        assert!(check("2026-01-01T23:00:00Z", 22, 6));
        assert!(check("2026-01-01T05:59:59Z", 22, 6));
        assert!(!check("2026-01-01T06:00:00Z", 22, 6));
        assert!(check("2026-01-01T22:00:00Z", 22, 6));
        assert!(!check("2026-01-01T12:00:00Z", 22, 6));
        assert!(check("2026-01-01T09:00:00Z", 9, 17));
        assert!(!check("2026-01-01T17:00:00Z", 9, 17));
        assert!(!check("2026-01-01T09:00:00Z", 9, 9));
    }

    #[test]
    fn bad_times_are_errors() {
        assert!(parse(&HOST, &["yesterday".into()]).is_err());
        assert!(
            hour(&HOST, &["2026-01-01".into()])
                .unwrap_err()
                .contains("expected a time")
        );
    }
}
