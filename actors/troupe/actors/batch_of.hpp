#pragma once

#include <type_traits>

namespace troupe {

/// Customization point: `batch_of<T>` names a message type that carries many
/// `T`s on one topic in one actor message, so that a `service::subscribe<T>`
/// handler also takes such batches, called once per item. Unspecialized,
/// it has no `type` and `subscribe<T>` takes `T` only.
///
/// A specialization provides
/// ```
/// using type = Batch;
/// static size_t size(const Batch&);
/// // Calls f(const T&) for each item in order until f returns false.
/// template <class F> static void for_each(const Batch&, F&& f);
/// ```
/// bridge/envelope.hpp specializes it: `subscribe<bridge::envelope>`
/// handlers also take `bridge::envelope_batch`es (the bridge's bulk path).
template <class T>
struct batch_of {};

/// Whether `batch_of<T>` is specialized.
template <class T, class = void>
struct has_batch_of : std::false_type {};

template <class T>
struct has_batch_of<T, std::void_t<typename batch_of<T>::type>>
  : std::true_type {};

template <class T>
inline constexpr bool has_batch_of_v = has_batch_of<T>::value;

} // namespace troupe
