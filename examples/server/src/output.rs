//! Command output: aligned tables for people, JSON for scripts.
//!
//! Text output escapes control characters (and the bidirectional overrides that reorder
//! what a terminal shows) in every value: update messages, asset keys and names come from
//! whoever published, and must not move the cursor, recolour or rewrite an operator's
//! terminal. JSON output is escaped by JSON itself.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::store::channels::{Branch, Channel};
use crate::store::{Update, UpdateHealth, UpdateInfo, UpdateKind, iso_millis};

/// An update row as JSON, with `created_at_iso` beside the milliseconds.
pub fn info_json(info: &UpdateInfo) -> Value {
    let mut value = serde_json::to_value(info).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "created_at_iso".into(),
            Value::String(info.created_at_iso()),
        );
    }
    value
}

/// A whole update as JSON.
pub fn update_json(update: &Update) -> Value {
    let mut value = serde_json::to_value(update).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "created_at_iso".into(),
            Value::String(update.info.created_at_iso()),
        );
    }
    value
}

/// `value` (an update as JSON) with its device counts under `health`.
pub fn with_health(mut value: Value, health: UpdateHealth) -> Value {
    if let Value::Object(map) = &mut value {
        map.insert(
            "health".into(),
            serde_json::json!({
                "served": health.served,
                "devices": health.devices,
                "launched": health.launched,
                "failed": health.failed,
                "failure_rate": health.failure_rate(),
            }),
        );
    }
    value
}

/// `value` (an update as JSON) with the channels serving its branch under `served_by`.
pub fn with_channels<S: std::hash::BuildHasher>(
    mut value: Value,
    info: &UpdateInfo,
    serving: &std::collections::HashMap<(String, String), Vec<String>, S>,
) -> Value {
    if let Value::Object(map) = &mut value {
        let channels = serving
            .get(&(info.scope.app.clone(), info.scope.channel.clone()))
            .cloned()
            .unwrap_or_default();
        map.insert(
            "served_by".into(),
            Value::Array(channels.into_iter().map(Value::String).collect()),
        );
    }
    value
}

/// Pretty JSON text.
pub fn json_text(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// `text` with control characters and bidirectional formatting characters written as
/// escapes (`\n`, `\t`, `\r`, `\u{1b}`); borrowed when there is nothing to escape.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    fn needs_escape(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Lays out rows under a header, columns padded to their widest cell; cells are escaped
/// ([`escape_controls`]).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| escape_controls(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let _ = write!(text, "{cell:<width$}");
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(AsRef::as_ref));
    }
    out
}

/// Branches as a table: name, update count, the channels serving each.
pub fn branches_table(branches: &[Branch]) -> String {
    let rows: Vec<Vec<String>> = branches
        .iter()
        .map(|b| vec![b.name.clone(), b.updates.to_string(), b.channels.join(", ")])
        .collect();
    table(&["BRANCH", "UPDATES", "CHANNELS"], &rows)
}

/// Channels as a table: name, branch, and the split (`canary 10%`) or `-`.
pub fn channels_table(channels: &[Channel]) -> String {
    let rows: Vec<Vec<String>> = channels
        .iter()
        .map(|c| {
            let split = c.split.as_ref().map_or_else(
                || "-".to_owned(),
                |s| format!("{} {}%", s.branch, s.percent),
            );
            vec![c.name.clone(), c.branch.clone(), split]
        })
        .collect();
    table(&["CHANNEL", "BRANCH", "SPLIT"], &rows)
}

/// Shortens a cell for a table.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

fn kind_label(info: &UpdateInfo) -> &'static str {
    match (info.kind, info.republished_from.is_some()) {
        (UpdateKind::RollbackToEmbedded, _) => "embedded",
        (UpdateKind::Update, true) => "republish",
        (UpdateKind::Update, false) => "publish",
    }
}

/// The `list` table.
pub fn updates_table(updates: &[UpdateInfo]) -> String {
    let rows: Vec<Vec<String>> = updates
        .iter()
        .map(|u| {
            vec![
                u.id.to_string(),
                u.created_at_iso(),
                u.scope.app.clone(),
                u.scope.channel.clone(),
                u.scope.runtime_version.clone(),
                u.scope.platform.to_string(),
                kind_label(u).to_owned(),
                u.asset_count.to_string(),
                clip(u.message.as_deref().unwrap_or(""), 40),
            ]
        })
        .collect();
    table(
        &[
            "ID", "CREATED", "APP", "CHANNEL", "RUNTIME", "PLATFORM", "KIND", "ASSETS", "MESSAGE",
        ],
        &rows,
    )
}

/// The `show` text; `served_by`: the channels serving the update's branch.
pub fn update_text(update: &Update, health: UpdateHealth, served_by: &[String]) -> String {
    let info = &update.info;
    let mut out = String::new();
    let mut field = |name: &str, value: &str| {
        let _ = writeln!(out, "{name:<17}{}", escape_controls(value));
    };
    field("id", &info.id.to_string());
    field(
        "created",
        &format!("{} ({} ms)", info.created_at_iso(), info.created_at),
    );
    field("app", &info.scope.app);
    field("channel", &info.scope.channel);
    if !served_by.is_empty() {
        field("served by", &served_by.join(", "));
    }
    field("runtime version", &info.scope.runtime_version);
    field("platform", info.scope.platform.as_str());
    field("kind", kind_label(info));
    field("message", info.message.as_deref().unwrap_or("-"));
    field("group", &info.group_id.to_string());
    field("rollout", &format!("{}%", info.rollout_percent));
    if let Some(from) = info.republished_from {
        field("copy of", &from.to_string());
    }
    field("devices", &health.devices.to_string());
    field("launched", &health.launched.to_string());
    field(
        "failed",
        &format!("{} ({:.1}%)", health.failed, health.failure_rate() * 100.0),
    );
    if info.kind == UpdateKind::RollbackToEmbedded {
        field("commit time", &iso_millis(info.created_at));
        return out;
    }
    let app_name = update
        .extra
        .get("expoClient")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("- (no app config: Constants.expoConfig will be empty)");
    field("app config", app_name);
    out.push('\n');
    let rows: Vec<Vec<String>> = update
        .launch_asset
        .iter()
        .map(|a| (true, a))
        .chain(update.assets.iter().map(|a| (false, a)))
        .map(|(launch, a)| {
            vec![
                if launch {
                    "launch".into()
                } else {
                    a.file_extension.clone().unwrap_or_default()
                },
                a.hash.to_string(),
                a.key.clone(),
                a.content_type.clone(),
            ]
        })
        .collect();
    out.push_str(&table(&["ASSET", "HASH", "KEY", "CONTENT-TYPE"], &rows));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns() {
        let text = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(text, "A    BB\nxxx  y\n");
    }

    #[test]
    fn control_characters_are_escaped_in_text_output() {
        let hostile = "fix\u{1b}[2J\u{1b}]0;pwned\u{7}\nline\u{202e}txt.exe\u{9b}";
        let escaped = escape_controls(hostile);
        assert_eq!(
            escaped,
            "fix\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\nline\\u{202e}txt.exe\\u{9b}"
        );
        assert!(!escaped.chars().any(char::is_control));
        assert!(matches!(escape_controls("plain ünïcode"), Cow::Borrowed(_)));
        let text = table(&["MESSAGE"], &[vec![hostile.to_owned()]]);
        assert_eq!(text.lines().count(), 2, "{text:?}");
        assert!(
            text.lines().all(|line| !line.chars().any(char::is_control)),
            "{text:?}"
        );
    }

    #[test]
    fn clip_marks_cut_text() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
