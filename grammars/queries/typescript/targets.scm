; inherits: ecma
; TypeScript-only targets, after the shared ones in ../ecma/targets.scm.

(abstract_class_declaration) @target
(interface_declaration) @target
(enum_declaration) @target
(type_alias_declaration) @target
(internal_module) @target

; class fields holding functions
(public_field_definition value: (arrow_function)) @target
(public_field_definition value: (function_expression)) @target
