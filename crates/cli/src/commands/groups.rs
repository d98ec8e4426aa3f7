//! `refsync group ...`: custom groups made, renamed, deleted and filled; every group listed
//! (smart and combination groups too, evaluated, with their sets).
//!
//! Invariant: membership lives on the reference (its `groups`), as everywhere in refsync, so
//! adding to a group is an edit of each reference and merges as a set when syncing.

use super::library::new_group;
use crate::args::GroupCommand;
use crate::context::{find_group, find_references, new_key, now_millis, Context};
use crate::error::{CliError, Result};
use crate::output::{count, table};
use refsync_core::edit::{actions, Write};
use refsync_core::protocol::Object;
use refsync_core::query::Library;
use refsync_core::{GroupKind, GroupSet};

pub async fn run(cx: &Context, command: &GroupCommand) -> Result<()> {
    let lib = cx.open().await?;
    let snap = lib.snapshot().await?;
    let now = now_millis();
    match command {
        GroupCommand::Create { name, set } => {
            if name.trim().is_empty() {
                return Err(CliError::bad_input("a group needs a name"));
            }
            if find_group(&snap, name).is_ok() {
                return Err(CliError::bad_input(format!(
                    "there is already a group called “{name}”"
                )));
            }
            let mut writes = Vec::new();
            let mut group = new_group(name);
            if let Some(set_name) = set {
                let existing = snap
                    .sets
                    .values()
                    .find(|s| s.name.eq_ignore_ascii_case(set_name.trim()));
                group.set = Some(match existing {
                    Some(s) => s.key,
                    None => {
                        let s = GroupSet {
                            key: new_key(),
                            name: set_name.trim().to_string(),
                            date_modified: now,
                        };
                        let key = s.key;
                        writes.push(Write::Put(Object::GroupSet(s)));
                        key
                    }
                });
            }
            let key = group.key;
            writes.push(Write::Put(Object::Group(group)));
            lib.write(writes).await?;
            println!("Made the group “{}” ({key}).", name.trim());
        }
        GroupCommand::Rename { name, new_name } => {
            if new_name.trim().is_empty() {
                return Err(CliError::bad_input("a group needs a name"));
            }
            let from = find_group(&snap, name)?.clone();
            let mut g = from.clone();
            g.name = new_name.trim().to_string();
            g.date_modified = now;
            lib.write(vec![Write::change(Object::Group(from), Object::Group(g))])
                .await?;
            println!("Renamed “{name}” to “{}”.", new_name.trim());
        }
        GroupCommand::Delete { name } => {
            let g = find_group(&snap, name)?;
            lib.write(actions::delete_group(&snap, g.key, now)).await?;
            println!(
                "Deleted the group “{}”; its references are still in the library.",
                g.name
            );
        }
        GroupCommand::Add { name, keys } | GroupCommand::Remove { name, keys } => {
            let adding = matches!(command, GroupCommand::Add { .. });
            let g = find_group(&snap, name)?;
            if let Some(why) = actions::refuses_members(g) {
                return Err(CliError::bad_input(why));
            }
            let keys = find_references(&snap, keys)?;
            let writes = if adding {
                actions::add_to_group(&snap, &keys, g.key, now).map_err(CliError::bad_input)?
            } else {
                actions::remove_from_group(&snap, &keys, g.key, now)
            };
            let n = writes.len();
            lib.write(writes).await?;
            let what = count(n, "reference", "references");
            if adding {
                println!("Added {what} to “{}”.", g.name);
            } else {
                println!("Removed {what} from “{}”.", g.name);
            }
        }
        GroupCommand::List { json } => {
            let library =
                Library::from_references(snap.references.iter().filter(|r| !r.trashed).cloned());
            let mut groups: Vec<_> = snap.groups.values().collect();
            groups.sort_by(|a, b| {
                let set = |g: &refsync_core::Group| {
                    g.set
                        .and_then(|s| snap.sets.get(&s))
                        .map(|s| s.name.to_lowercase())
                        .unwrap_or_default()
                };
                (set(a), a.name.to_lowercase()).cmp(&(set(b), b.name.to_lowercase()))
            });
            let rows: Vec<(String, &str, String, String)> = groups
                .iter()
                .map(|g| {
                    let kind = match g.kind {
                        GroupKind::Custom => "custom",
                        GroupKind::Smart { .. } => "smart",
                        GroupKind::Combination { .. } => "combination",
                    };
                    let n = library
                        .group_ids(&snap.groups, g.key)
                        .map(|ids| ids.count().to_string())
                        .unwrap_or_else(|e| format!("({e})"));
                    let set = g
                        .set
                        .and_then(|s| snap.sets.get(&s))
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    (g.name.clone(), kind, set, n)
                })
                .collect();
            if *json {
                let v: Vec<serde_json::Value> = groups
                    .iter()
                    .zip(&rows)
                    .map(|(g, (name, kind, set, n))| {
                        serde_json::json!({
                            "key": g.key.as_str(), "name": name, "kind": kind,
                            "set": set, "references": n.parse::<u64>().ok(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                let cells: Vec<Vec<String>> = rows
                    .into_iter()
                    .map(|(name, kind, set, n)| vec![name, kind.to_string(), set, n])
                    .collect();
                table(&["GROUP", "KIND", "SET", "REFERENCES"], &cells);
            }
        }
    }
    lib.close().await;
    Ok(())
}
