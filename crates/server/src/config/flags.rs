//! Command-line flags made from the setting descriptors: each command
//! flattens one [`Flags`] set, which adds the flags of the [`Group`]s that
//! command takes, and [`Flags::apply`] writes the flags given (only those)
//! over their keys. Help texts end in `[section.key; default X]`, the
//! default being the one the definition gives.

use std::marker::PhantomData;

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::settings::{Flag, Group, Setting};
use super::Config;

/// Which groups of flags a command takes.
pub trait FlagSet {
    /// The groups, in the order their flags are listed.
    const GROUPS: &'static [Group];
}

/// `ringport serve`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForServe;
impl FlagSet for ForServe {
    const GROUPS: &'static [Group] = &[Group::Host, Group::Serve, Group::Store];
}

/// `ringport echo`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForEcho;
impl FlagSet for ForEcho {
    const GROUPS: &'static [Group] = &[Group::Host];
}

/// `ringport user`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForUser;
impl FlagSet for ForUser {
    const GROUPS: &'static [Group] = &[Group::Store];
}

/// Every command (the top level's global flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct ForAll;
impl FlagSet for ForAll {
    const GROUPS: &'static [Group] = &[Group::Global];
}

/// The setting flags of one command, as parsed (flatten it into the
/// command's `Args`).
#[derive(Debug, Clone, Default)]
pub struct Flags<S> {
    matches: ArgMatches,
    set: PhantomData<S>,
}

impl<S: FlagSet> Flags<S> {
    /// The settings with a flag in this set, in section and key order.
    fn flagged() -> impl Iterator<Item = (Setting, Flag)> {
        Config::settings().into_iter().filter_map(|s| {
            let flag = s.flag.clone()?;
            S::GROUPS.contains(&flag.group).then_some((s, flag))
        })
    }

    /// Writes the flags that were given over `config`.
    pub fn apply(&self, config: &mut Config) {
        for (_, flag) in Self::flagged() {
            (flag.take)(&self.matches, config);
        }
    }
}

/// The clap argument of `setting`'s `flag`.
fn arg(setting: &Setting, flag: &Flag) -> Arg {
    let help = format!(
        "{} [{}; default {}]",
        setting.text(),
        setting.id,
        setting.default_shown()
    );
    let arg = Arg::new(setting.id)
        .long(flag.name)
        .action(ArgAction::Set)
        .required(false)
        .help(help);
    let arg = match flag.group {
        Group::Global => arg.global(true).display_order(100),
        Group::Store => arg.global(true),
        Group::Host | Group::Serve => arg,
    };
    (flag.arg)(arg)
}

impl<S: FlagSet> Args for Flags<S> {
    fn augment_args(mut cmd: Command) -> Command {
        for group in S::GROUPS {
            for (setting, flag) in Self::flagged().filter(|(_, f)| f.group == *group) {
                cmd = cmd.arg(arg(&setting, &flag));
            }
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl<S: FlagSet> FromArgMatches for Flags<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Flags {
            matches: matches.clone(),
            set: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.matches = matches.clone();
        Ok(())
    }
}
