//! The pure domain: card states, GO Cards statuses, processes, and the one function that
//! decides what a reported status does to a card. No I/O; compiles for WASM and the server.

mod account;
mod card_id;
mod card_state;
mod gocards_status;
mod job;
mod order;
mod outcome;
mod process;
pub mod text;

pub use account::{
    check_new_password, AccountError, Username, MAX_PASSWORD_BYTES, MAX_USERNAME_LEN,
    MIN_PASSWORD_LEN,
};
pub use card_id::{CardId, CardIdError};
pub use card_state::{changed_meanwhile_message, CardState, UnknownCardState};
pub use gocards_status::GoCardsStatus;
pub use job::{
    already_running_message, check_job_size, job_title, skipped_sentence, ItemOutcome, JobCounts,
    JobSizeError, JobStatus, UnknownJobWord, DEFAULT_JOB_CONCURRENCY, MAX_JOB_CONCURRENCY,
    MAX_JOB_ITEMS,
};
pub use order::{
    check_reason, FieldError, OrderField, OrderForm, ReasonError, MAX_ORDER_FIELD_CHARS,
};
pub use outcome::{apply, NoChange, Outcome, Refusal, CANCELLED_REASON};
pub use process::{CommandList, Entity, NotApplicable, Process, UnknownProcess};
