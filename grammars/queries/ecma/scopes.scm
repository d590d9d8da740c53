; Enclosing scopes whose header the model should see when it lies outside the context window.
; Used by server/context/header.ts. Shared by JavaScript and TypeScript: their scopes.scm start with
; `; inherits: ecma` and add what only their grammar has.
;
; Every pattern captures the scope node as @scope and its body as @body: the header shown to the model is the
; text from the start of the scope's first line up to the body's opening brace (the signature, not the body).
; Keep every pattern rooted at the scope node, with a named node type (no `(_)` root): header.ts reads these root
; types from this file and runs the query only on nodes of those types on the path from the root to the cursor
; (with a wildcard root it falls back to a slower range query over the whole tree).

; --- declarations ---------------------------------------------------------------------------------------------
(function_declaration body: (_) @body) @scope
(generator_function_declaration body: (_) @body) @scope
(class_declaration body: (_) @body) @scope

; --- methods: class methods, accessors, object-literal methods -------------------------------------------------
(method_definition body: (_) @body) @scope

; --- functions, classes and object literals held by a name ------------------------------------------------------
; const f = async (a) => {      var g = function* () {      const Base = class extends X {      const config = {
(variable_declarator
  value: [
    (arrow_function body: (_) @body)
    (function_expression body: (_) @body)
    (generator_function body: (_) @body)
    (class body: (_) @body)
    (object) @body
  ]) @scope

; { load: async (id) => {      { render: function () {      { nested: {
(pair
  value: [
    (arrow_function body: (_) @body)
    (function_expression body: (_) @body)
    (generator_function body: (_) @body)
    (object) @body
  ]) @scope

; module.exports = function () {      Foo.prototype.bar = function () {
(assignment_expression
  right: [
    (arrow_function body: (_) @body)
    (function_expression body: (_) @body)
    (generator_function body: (_) @body)
    (class body: (_) @body)
  ]) @scope

; export default {
(export_statement value: (object) @body) @scope

; --- any other function with a block body: callbacks such as describe('…', () => {  or  app.get('/', (req, res) => {
; (the header starts at the beginning of the line, so the call it is passed to is part of it)
(arrow_function body: (statement_block) @body) @scope
(function_expression body: (_) @body) @scope
(generator_function body: (_) @body) @scope
(class body: (_) @body) @scope
