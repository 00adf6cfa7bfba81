# cmake -DINPUT=FILE -DOUTPUT=FILE.cpp -DNAMESPACE=ns -DFUNCTION=name -P
# EmbedText.cmake: writes a C++ source defining `std::string_view
# ns::name()` that returns the text of INPUT, as a raw string literal, so
# that a file (the dashboard page) is built into the binary.
file(READ "${INPUT}" text)
set(delim "troupe_embed")
string(FIND "${text}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains ')${delim}\"', which ends the raw string")
endif()
file(WRITE "${OUTPUT}"
  "// Generated from ${INPUT} by cmake/EmbedText.cmake; do not edit.\n"
  "#include <string_view>\n\n"
  "namespace ${NAMESPACE} {\n\n"
  "std::string_view ${FUNCTION}() {\n"
  "  static constexpr std::string_view text = R\"${delim}(${text})${delim}\";\n"
  "  return text;\n"
  "}\n\n"
  "} // namespace ${NAMESPACE}\n")
