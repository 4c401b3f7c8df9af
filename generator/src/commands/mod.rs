//! The subcommands besides `generate`, each on top of the pipeline's stages:
//! `init` (a starter selection file; `wizard` when interactive), `list` (what each operation becomes and
//! why) and `lint` (release checks of the selected tools).

pub mod diff;
pub mod init;
pub mod lint;
pub mod list;
pub mod wizard;
