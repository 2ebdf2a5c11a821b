//! The "User" half of the search: card holders and their profiles.

use leptos::prelude::*;
use server_fn::codec::Json;

use super::errors::api_error;
use crate::model::{HolderDetail, HolderSearch, HolderSearchPage};

api_error! {
    /// Searching users (card holders).
    pub enum SearchUsersError {}
}

api_error! {
    /// Opening a user's profile.
    pub enum UserProfileError {
        #[error("No user {user_id} exists. Check the address, or search again.")]
        NotFound { user_id: i64 } => NOT_FOUND,
    }
}

/// One page of users matching the search, each with the states of their cards.
#[server(endpoint = "search_users", input = Json)]
pub async fn search_users(search: HolderSearch) -> Result<HolderSearchPage, SearchUsersError> {
    use crate::api::access;

    access::require_operator().await?;
    let state = access::app_state()?;
    // Too long a field, a control character or too deep a page: refused before the database
    // is asked.
    search
        .validate()
        .map_err(|e| SearchUsersError::BadRequest {
            message: e.to_string(),
        })?;
    let page = search.page();
    let (rows, has_next) = state.db.search_holders(&search).await?;
    Ok(HolderSearchPage {
        rows,
        page,
        has_next,
    })
}

/// A user's profile: details, cards, and the user processes enabled on Users › User.
#[server(endpoint = "user_profile", input = Json)]
pub async fn user_profile(user_id: i64) -> Result<HolderDetail, UserProfileError> {
    use crate::api::access;

    use crate::domain::CommandList;

    access::require_operator().await?;
    let state = access::app_state()?;
    let mut user = state
        .db
        .holder(user_id)
        .await?
        .ok_or(UserProfileError::NotFound { user_id })?;
    user.commands = state
        .db
        .enabled_commands(CommandList::User)
        .await?
        .into_iter()
        .filter(|p| p.check_list(CommandList::User).is_ok())
        .collect();
    Ok(user)
}
