; inherits: ecma
; JavaScript-only targets, after the shared ones in ../ecma/targets.scm.

; class fields holding functions
(field_definition value: (arrow_function)) @target
(field_definition value: (function_expression)) @target
