; inherits: ecma
; TypeScript-only scopes, after the shared ones in ../ecma/scopes.scm (same rules: rooted at the scope node).

(abstract_class_declaration body: (_) @body) @scope
(interface_declaration body: (_) @body) @scope
(enum_declaration body: (_) @body) @scope
(type_alias_declaration value: (object_type) @body) @scope

; namespace X { }   module X { }   declare module 'x' { }   declare global { }
(internal_module body: (_) @body) @scope
(module body: (_) @body) @scope
(ambient_declaration (statement_block) @body) @scope

; class fields: handle = (event: Event) => {
(public_field_definition
  value: [
    (arrow_function body: (_) @body)
    (function_expression body: (_) @body)
  ]) @scope
