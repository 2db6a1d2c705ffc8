//! The adapters under test, each with names of its own: a fresh in-process
//! bus, or a RabbitMQ connection with a random exchange whose queues are
//! deleted after the test, whether it passed or not.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use orderflow_app::ports::bus::{Message, MessageBus, SubscriptionSpec};
use orderflow_bus::{InProcessBus, RabbitBus, RabbitConfig};
use uuid::Uuid;

use crate::support::PATIENCE;

pub struct Backend {
    pub bus: Arc<dyn MessageBus>,
    adapter: Adapter,
}

enum Adapter {
    InProcess(InProcessBus),
    Rabbit {
        bus: RabbitBus,
        shared_queues: Mutex<Vec<String>>,
        dead_letters: tokio::sync::Mutex<Vec<Message>>,
    },
}

pub fn amqp_url() -> String {
    std::env::var("ORDERFLOW_TEST_AMQP_URL").unwrap_or_else(|_| RabbitConfig::DEFAULT_URL.into())
}

/// A configuration with a random exchange and connection name.
pub fn rabbit_config() -> RabbitConfig {
    let test_id = Uuid::new_v4().simple().to_string();
    RabbitConfig::new(amqp_url())
        .with_exchange(format!("test-{test_id}"))
        .with_connection_name(format!("orderflow-test-{test_id}"))
}

pub async fn connect_rabbit(config: RabbitConfig) -> RabbitBus {
    let url = amqp_url();
    RabbitBus::connect(config).await.unwrap_or_else(|error| {
        panic!(
            "RabbitMQ is required for these tests and is not reachable at {url}: {error}. \
             Start it (`rabbitmq-server -detached`) or set ORDERFLOW_TEST_AMQP_URL."
        )
    })
}

impl Backend {
    pub async fn in_process() -> Self {
        let bus = InProcessBus::default();
        Backend {
            bus: Arc::new(bus.clone()),
            adapter: Adapter::InProcess(bus),
        }
    }

    pub async fn rabbitmq() -> Self {
        Backend::rabbitmq_with(rabbit_config()).await
    }

    pub async fn rabbitmq_with(config: RabbitConfig) -> Self {
        let bus = connect_rabbit(config).await;
        Backend {
            bus: Arc::new(bus.clone()),
            adapter: Adapter::Rabbit {
                bus,
                shared_queues: Mutex::new(Vec::new()),
                dead_letters: tokio::sync::Mutex::new(Vec::new()),
            },
        }
    }

    pub fn rabbit(&self) -> &RabbitBus {
        match &self.adapter {
            Adapter::Rabbit { bus, .. } => bus,
            Adapter::InProcess(_) => panic!("not a RabbitMQ backend"),
        }
    }

    /// A shared queue with a name of this test's own.
    pub fn shared(&self, name: &str, bindings: &[&str]) -> SubscriptionSpec {
        let spec =
            SubscriptionSpec::shared(format!("test.{name}.{}", Uuid::new_v4().simple()), bindings);
        if let Adapter::Rabbit { shared_queues, .. } = &self.adapter {
            shared_queues.lock().unwrap().push(spec.queue.clone());
        }
        spec
    }

    pub fn exclusive(&self, bindings: &[&str]) -> SubscriptionSpec {
        SubscriptionSpec::exclusive("test.instance", bindings)
    }

    /// The dead letters so far, waiting until there are at least `expected`.
    pub async fn dead_letters(&self, expected: usize) -> Vec<Message> {
        match &self.adapter {
            Adapter::InProcess(bus) => {
                let letters: Vec<Message> =
                    bus.dead_letters().into_iter().map(|d| d.message).collect();
                assert!(letters.len() >= expected, "{} dead letters", letters.len());
                letters
            }
            Adapter::Rabbit {
                bus, dead_letters, ..
            } => {
                let mut letters = dead_letters.lock().await;
                let deadline = tokio::time::Instant::now() + PATIENCE;
                loop {
                    letters.extend(bus.take_dead_letters(100).await.unwrap());
                    if letters.len() >= expected {
                        return letters.clone();
                    }
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "{} dead letters, expected {expected}",
                        letters.len()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn clean_up(&self) {
        if let Adapter::Rabbit {
            bus, shared_queues, ..
        } = &self.adapter
        {
            let queues = shared_queues.lock().unwrap().clone();
            for queue in queues {
                bus.delete_queue(&queue).await.unwrap();
            }
            bus.delete_exchanges().await.unwrap();
            bus.close().await;
        }
    }
}

/// Runs a test, then deletes what it declared, then reports its outcome.
pub async fn run_then_clean_up(backend: &Backend, test: impl Future<Output = ()>) {
    let outcome = AssertUnwindSafe(test).catch_unwind().await;
    backend.clean_up().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
