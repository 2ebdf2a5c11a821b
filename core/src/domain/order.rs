//! The fields an operator fills in to order a card or abort an order, and their checks.
//! The server runs them on every call; the dialog runs the same ones as the operator types.

use serde::{Deserialize, Serialize};

use super::text::has_control;

/// The longest text any field of Order card or Abort card order accepts.
pub const MAX_ORDER_FIELD_CHARS: usize = 200;

/// Order card's form, as the operator filled it in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderForm {
    pub article_id: String,
    pub recipient: String,
    pub address_one: String,
    pub postal_code: String,
    pub city: String,
    pub country_code: String,
}

/// A field of Order card's form, named as the dialog labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderField {
    Article,
    Recipient,
    Address,
    PostalCode,
    City,
    Country,
}

impl OrderField {
    pub const ALL: [OrderField; 6] = [
        OrderField::Article,
        OrderField::Recipient,
        OrderField::Address,
        OrderField::PostalCode,
        OrderField::City,
        OrderField::Country,
    ];

    pub fn label(self) -> &'static str {
        match self {
            OrderField::Article => "Article",
            OrderField::Recipient => "Recipient",
            OrderField::Address => "Address",
            OrderField::PostalCode => "Postal code",
            OrderField::City => "City",
            OrderField::Country => "Country",
        }
    }
}

/// Why a field was refused. Nothing is stored or ordered when one is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum FieldError {
    #[error("{} is required.", .0.label())]
    Missing(OrderField),
    #[error("{} is too long: at most 200 characters.", .0.label())]
    TooLong(OrderField),
    #[error("{} contains control characters; type it again without them.", .0.label())]
    Control(OrderField),
    #[error("Country must be two capital letters (ISO 3166-1 alpha-2), such as SE.")]
    Country,
}

impl FieldError {
    pub fn field(self) -> OrderField {
        match self {
            FieldError::Missing(field)
            | FieldError::TooLong(field)
            | FieldError::Control(field) => field,
            FieldError::Country => OrderField::Country,
        }
    }
}

/// A required text of at most [`MAX_ORDER_FIELD_CHARS`], trimmed.
fn required(field: OrderField, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::Missing(field));
    }
    if value.chars().count() > MAX_ORDER_FIELD_CHARS {
        return Err(FieldError::TooLong(field));
    }
    if has_control(value) {
        return Err(FieldError::Control(field));
    }
    Ok(value.to_owned())
}

impl OrderForm {
    pub fn value(&self, field: OrderField) -> &str {
        match field {
            OrderField::Article => &self.article_id,
            OrderField::Recipient => &self.recipient,
            OrderField::Address => &self.address_one,
            OrderField::PostalCode => &self.postal_code,
            OrderField::City => &self.city,
            OrderField::Country => &self.country_code,
        }
    }

    /// Every field's problems, in the dialog's order; empty when the form can be sent.
    pub fn problems(&self) -> Vec<FieldError> {
        OrderField::ALL
            .into_iter()
            .filter_map(|field| self.check(field).err())
            .collect()
    }

    fn check(&self, field: OrderField) -> Result<String, FieldError> {
        let value = required(field, self.value(field))?;
        if field == OrderField::Country
            && !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(FieldError::Country);
        }
        Ok(value)
    }

    /// The form with every field trimmed, or the first problem.
    pub fn validated(&self) -> Result<OrderForm, FieldError> {
        Ok(OrderForm {
            article_id: self.check(OrderField::Article)?,
            recipient: self.check(OrderField::Recipient)?,
            address_one: self.check(OrderField::Address)?,
            postal_code: self.check(OrderField::PostalCode)?,
            city: self.check(OrderField::City)?,
            country_code: self.check(OrderField::Country)?,
        })
    }
}

/// Why Abort card order's reason was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    #[error("Reason is required: say why the order is aborted.")]
    Missing,
    #[error("Reason is too long: at most 200 characters.")]
    TooLong,
    #[error("Reason contains control characters; type it again without them.")]
    Control,
}

/// Abort card order's reason, trimmed.
pub fn check_reason(reason: &str) -> Result<String, ReasonError> {
    let reason = reason.trim();
    if reason.is_empty() {
        Err(ReasonError::Missing)
    } else if reason.chars().count() > MAX_ORDER_FIELD_CHARS {
        Err(ReasonError::TooLong)
    } else if has_control(reason) {
        Err(ReasonError::Control)
    } else {
        Ok(reason.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn good() -> OrderForm {
        OrderForm {
            article_id: "KSK-K11686X".into(),
            recipient: "Anna Berg".into(),
            address_one: "Storgatan 1".into(),
            postal_code: "111 22".into(),
            city: "Stockholm".into(),
            country_code: "SE".into(),
        }
    }

    #[test]
    fn a_complete_form_passes_trimmed() {
        let mut form = good();
        form.city = "  Stockholm ".into();
        let valid = form.validated().expect("valid");
        assert_eq!(valid.city, "Stockholm");
        assert!(form.problems().is_empty());
    }

    #[test]
    fn each_field_is_required() {
        for field in OrderField::ALL {
            let mut form = good();
            match field {
                OrderField::Article => form.article_id = " ".into(),
                OrderField::Recipient => form.recipient.clear(),
                OrderField::Address => form.address_one.clear(),
                OrderField::PostalCode => form.postal_code.clear(),
                OrderField::City => form.city.clear(),
                OrderField::Country => form.country_code.clear(),
            }
            assert_eq!(form.validated(), Err(FieldError::Missing(field)));
            assert_eq!(form.problems(), vec![FieldError::Missing(field)]);
        }
    }

    #[test]
    fn long_and_control_texts_are_refused() {
        let mut form = good();
        form.address_one = "x".repeat(201);
        assert_eq!(
            form.validated(),
            Err(FieldError::TooLong(OrderField::Address))
        );
        form.address_one = "x".repeat(200);
        assert!(form.validated().is_ok());
        form.recipient = "Anna\u{0}Berg".into();
        assert_eq!(
            form.validated(),
            Err(FieldError::Control(OrderField::Recipient))
        );
    }

    #[test]
    fn country_is_two_capital_letters() {
        for bad in ["se", "SWE", "S", "S1", "ÅÄ"] {
            let mut form = good();
            form.country_code = bad.into();
            assert_eq!(form.validated(), Err(FieldError::Country), "{bad}");
        }
    }

    #[test]
    fn reasons() {
        assert_eq!(check_reason("  lost  "), Ok("lost".to_owned()));
        assert_eq!(check_reason(" "), Err(ReasonError::Missing));
        assert_eq!(check_reason(&"r".repeat(201)), Err(ReasonError::TooLong));
        assert_eq!(check_reason("a\u{7}b"), Err(ReasonError::Control));
    }

    proptest! {
        #[test]
        fn validated_forms_are_within_the_limits(
            article in ".{0,210}", recipient in ".{0,210}", city in ".{0,210}", country in ".{0,3}"
        ) {
            let form = OrderForm {
                article_id: article,
                recipient,
                address_one: "Storgatan 1".into(),
                postal_code: "111 22".into(),
                city,
                country_code: country,
            };
            match form.validated() {
                Ok(valid) => {
                    for field in OrderField::ALL {
                        let value = valid.value(field);
                        prop_assert!(!value.is_empty() && value.chars().count() <= MAX_ORDER_FIELD_CHARS);
                        prop_assert!(!has_control(value));
                    }
                    prop_assert!(form.problems().is_empty());
                }
                Err(first) => prop_assert_eq!(form.problems().first().copied(), Some(first)),
            }
        }
    }
}
