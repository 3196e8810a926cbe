// BoundedQueue: order, back-pressure (a full queue blocks its producer), close and drain.
#include "aiportrait/bounded_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using aiportrait::BoundedQueue;
using namespace std::chrono_literals;

TEST(BoundedQueue, KeepsOrderAndNeverBlocksOnTryPop) {
    BoundedQueue<int> q(3);
    EXPECT_FALSE(q.try_pop().has_value());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.push(i));
    for (int i = 0; i < 3; ++i) EXPECT_EQ(q.try_pop(), i);
    EXPECT_FALSE(q.try_pop().has_value());
}

TEST(BoundedQueue, AFullQueueBlocksItsProducerUntilAConsumerTakes) {
    BoundedQueue<int> q(2);
    std::atomic<int> pushed{0};
    std::thread producer([&] {
        for (int i = 0; i < 5; ++i) {
            q.push(i);
            ++pushed;
        }
    });
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(pushed.load(), 2) << "the producer ran past a full queue";
    for (int i = 0; i < 5; ++i) EXPECT_EQ(q.pop(), i);
    producer.join();
    EXPECT_EQ(pushed.load(), 5);
}

TEST(BoundedQueue, CloseDrainsWhatIsLeftThenEnds) {
    BoundedQueue<int> q(4);
    q.push(7);
    q.push(8);
    q.close();
    EXPECT_FALSE(q.push(9)) << "a closed queue takes nothing";
    EXPECT_EQ(q.pop(), 7);
    EXPECT_EQ(q.pop(), 8);
    EXPECT_FALSE(q.pop().has_value());
}

TEST(BoundedQueue, CloseWakesABlockedConsumerAndABlockedProducer) {
    BoundedQueue<int> empty(1), full(1);
    full.push(1);
    std::optional<int> got = 42;
    bool accepted = true;
    std::thread consumer([&] { got = empty.pop(); });
    std::thread producer([&] { accepted = full.push(2); });
    std::this_thread::sleep_for(50ms);
    empty.close();
    full.close();
    consumer.join();
    producer.join();
    EXPECT_FALSE(got.has_value());
    EXPECT_FALSE(accepted);
}
