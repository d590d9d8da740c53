; inherits: ecma
; JavaScript-only scopes, after the shared ones in ../ecma/scopes.scm (same rules: rooted at the scope node).

; class fields: handle = (event) => {
(field_definition
  value: [
    (arrow_function body: (_) @body)
    (function_expression body: (_) @body)
  ]) @scope

; module.exports = {
(assignment_expression right: (object) @body) @scope
