; Shared by JavaScript and TypeScript (their files start with `; inherits: ecma`).
; What a code action or a hover works on when nothing is selected: the innermost @target around the cursor.
; Used by server/context/action-target.ts. A target is a whole declaration, so an edit that rewrites it keeps its
; surroundings intact; action-target.ts widens a target to an enclosing `export` statement.
; No [alternations] below a pattern's root: tree-sitter 0.21 ignores them there (they match anything), hence the
; spelled-out patterns.

(function_declaration) @target
(generator_function_declaration) @target
(class_declaration) @target
(method_definition) @target

; const f = () => {…}    let g = function () {…}    const C = class {…}
(lexical_declaration (variable_declarator value: (arrow_function))) @target
(lexical_declaration (variable_declarator value: (function_expression))) @target
(lexical_declaration (variable_declarator value: (generator_function))) @target
(lexical_declaration (variable_declarator value: (class))) @target
(variable_declaration (variable_declarator value: (arrow_function))) @target
(variable_declaration (variable_declarator value: (function_expression))) @target
(variable_declaration (variable_declarator value: (generator_function))) @target
(variable_declaration (variable_declarator value: (class))) @target

; object-literal methods and function-valued properties
(pair value: (arrow_function)) @target
(pair value: (function_expression)) @target
(pair value: (generator_function)) @target

; callbacks with a block body as statements: it('…', () => {…})   app.get('/', (req, res) => {…})
(expression_statement (call_expression arguments: (arguments (arrow_function body: (statement_block))))) @target
(expression_statement (call_expression arguments: (arguments (function_expression)))) @target
