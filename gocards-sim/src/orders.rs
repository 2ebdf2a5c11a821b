//! `POST /api/order` bookkeeping: replies by `Idempotency-Key`, orders by external reference.

use std::collections::HashMap;

use gocards::{OrderReply, OrderRequest};

pub(crate) enum OrderLookup {
    /// The key was used before with the same body: send the first reply again.
    Replay(OrderReply),
    /// The key was used before with another body.
    KeyReused,
    /// Another key already ordered this external reference.
    AlreadyOrdered {
        order_id: String,
    },
    New,
}

#[derive(Default)]
pub(crate) struct OrderBook {
    by_key: HashMap<String, (OrderRequest, OrderReply)>,
    by_reference: HashMap<String, String>,
}

impl OrderBook {
    pub fn lookup(&self, key: &str, request: &OrderRequest) -> OrderLookup {
        if let Some((first_request, first_reply)) = self.by_key.get(key) {
            return if first_request == request {
                OrderLookup::Replay(first_reply.clone())
            } else {
                OrderLookup::KeyReused
            };
        }
        match self.by_reference.get(&request.external_reference) {
            Some(order_id) => OrderLookup::AlreadyOrdered {
                order_id: order_id.clone(),
            },
            None => OrderLookup::New,
        }
    }

    pub fn record(&mut self, key: String, request: OrderRequest, reply: OrderReply) {
        self.by_reference
            .insert(request.external_reference.clone(), reply.order_id.clone());
        self.by_key.insert(key, (request, reply));
    }
}
